/**
 * What a client is told about a request refused before a route runs (a body that is not JSON, too
 * large, of the wrong shape; an unknown route; a known route asked with another method): the
 * message says what to send instead.
 */
import type { FastifyRequest } from 'fastify';

/** What the body of each POST route must be. */
const BODY_SHAPES: Record<string, string> = {
  '/v1/ner': 'a JSON object with "text" (a string) or "texts" (a list of strings), one of the two',
  '/v1/ner/jobs': 'a JSON object with "texts" (a list of strings)',
};

const bodyShape = (req: FastifyRequest) =>
  BODY_SHAPES[req.routeOptions.url ?? ''] ?? 'a JSON object (GET /openapi.json describes the API)';

interface FrameworkError {
  code?: string;
  message: string;
  validation?: { instancePath?: string }[];
}

/** The message of a 4xx error raised by the framework, made into one that says what to send. */
export function requestErrorMessage(err: FrameworkError, req: FastifyRequest, bodyLimit: number): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `content-type "${String(req.headers['content-type'] ?? '')}" is not accepted: send ${bodyShape(req)} with content-type: application/json`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `the request body is larger than ${bodyLimit} bytes, the limit of this server (el4ner serve --body-limit): send fewer or shorter texts per request`;
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `the body is empty: send ${bodyShape(req)}`;
    case 'FST_ERR_VALIDATION':
      // a problem with the body as a whole (not an object, neither or both of text and texts)
      if (err.validation?.some((v) => !v.instancePath)) return `the body must be ${bodyShape(req)}`;
      return err.message;
    default:
      return err.message;
  }
}

/** The path of a request, without its query. */
export const requestPath = (req: FastifyRequest): string => req.url.split('?')[0];

/** The 404 of a path no route has. */
export function notFoundMessage(req: FastifyRequest): string {
  return `no route ${req.method} ${requestPath(req)} (GET /openapi.json lists the routes)`;
}

/** The 405 of a path whose routes take other methods (`allowed`, as the Allow header lists them). */
export function wrongMethodMessage(req: FastifyRequest, allowed: readonly string[]): string {
  const methods = allowed.length > 1 ? `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}` : allowed[0];
  return `${req.method} ${requestPath(req)}: this route takes ${methods} (GET /openapi.json lists the routes)`;
}

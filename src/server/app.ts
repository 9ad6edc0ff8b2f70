/**
 * The HTTP service: POST /v1/ner, batch jobs, health, readiness, Prometheus metrics, OpenAPI, and
 * an HTML page at GET /. Methods are built from the config by `createMethod` (one per distinct
 * label set / stage options a request asks for, a few kept).
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { createMethod } from '../assemble/index.js';
import type { Config } from '../config/schema.js';
import { NoAnswerError } from '../core/errors.js';
import type { Method } from '../core/method.js';
import type { NerDocument } from '../core/types.js';
import { renderView } from '../view/render.js';
import { JobStore } from './jobs.js';
import { createMetrics } from './metrics.js';
import { jobRequestSchema, nerRequestSchema, openApiDocument } from './openapi.js';
import { checkEngines } from './readiness.js';

export interface ServerOptions {
  config: Config;
  /** Builds a method for a config (default: createMethod). */
  makeMethod?: (config: Config) => Promise<Method>;
  /** Bearer token required on every route but /healthz. */
  token?: string;
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Per-request time limit in ms (default 120 s). */
  requestTimeoutMs?: number;
  logger?: boolean;
}

interface NerBody {
  text?: string;
  texts?: string[];
  labels?: string[];
  stages?: Record<string, unknown>;
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new HttpError(504, `request timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const FORM = (text: string) =>
  `<form method="get" action="/" style="margin:1rem 0"><textarea name="text" rows="5" style="width:100%" placeholder="Text to tag">${text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')}</textarea><br><button type="submit">Find entities</button></form>`;

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const makeMethod = opts.makeMethod ?? ((config: Config) => createMethod(config));
  const timeoutMs = opts.requestTimeoutMs ?? 120_000;
  const methods = new Map<string, Promise<Method>>();
  const methodFor = (body: { labels?: string[]; stages?: Record<string, unknown> }): Promise<Method> => {
    const key = JSON.stringify({ labels: body.labels ?? null, stages: body.stages ?? null });
    let r = methods.get(key);
    if (!r) {
      if (methods.size >= 8)
        throw new HttpError(
          429,
          'too many distinct label sets / stage options in use; retry with the defaults',
        );
      const config: Config = {
        ...opts.config,
        ...(body.labels ? { labels: body.labels } : {}),
        stages: { ...opts.config.stages, ...(body.stages ?? {}) },
      };
      r = makeMethod(config);
      r.catch(() => methods.delete(key));
      methods.set(key, r);
    }
    return r;
  };
  const settledMethods = async () => {
    const out: Method[] = [];
    for (const p of methods.values()) {
      try {
        out.push(await p);
      } catch {
        // a method that failed to build has no costs
      }
    }
    return out;
  };
  let costSnapshot: Method[] = [];
  const metrics = createMetrics(() => costSnapshot.map((r) => r.cost()));
  const jobs = new JobStore();

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });

  app.addHook('onRequest', async (req, reply) => {
    (req as unknown as { t0: bigint }).t0 = process.hrtime.bigint();
    if (opts.token && req.url !== '/healthz' && !tokenMatches(req.headers.authorization, opts.token)) {
      reply.header('www-authenticate', 'Bearer');
      return reply.code(401).send({ error: 'missing or wrong bearer token' });
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    const seconds = Number(process.hrtime.bigint() - (req as unknown as { t0: bigint }).t0) / 1e9;
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, seconds);
  });
  app.setErrorHandler(
    (err: Error & { statusCode?: number; validation?: unknown; code?: string }, _req, reply) => {
      if (err instanceof HttpError)
        return reply
          .code(err.statusCode)
          .send({ error: err.message, ...(err.details ? { details: err.details } : {}) });
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      if (status >= 500) app.log.error(err);
      return reply.code(status).send({
        error: status === 500 ? `internal error: ${err.message}` : err.message,
        ...(err.code ? { code: err.code } : {}),
      });
    },
  );

  const tag = async (body: NerBody): Promise<{ docs: NerDocument[]; warnings: unknown[] }> => {
    const texts = body.texts ?? [body.text!];
    const method = await methodFor(body);
    costSnapshot = await settledMethods();
    try {
      const r = await method.tag(texts);
      return { docs: r.docs, warnings: r.failures };
    } catch (e) {
      if (e instanceof NoAnswerError)
        throw new HttpError(503, 'no engine answered: every configured model failed', e.failures);
      throw e;
    }
  };

  app.post<{ Body: NerBody }>('/v1/ner', { schema: { body: nerRequestSchema } }, async (req) => {
    const { docs, warnings } = await withTimeout(tag(req.body), timeoutMs);
    return {
      results: docs.map((d) => ({ text: d.text, entities: d.entities })),
      ...(warnings.length ? { warnings } : {}),
    };
  });

  app.post<{ Body: { texts: string[] } }>(
    '/v1/ner/jobs',
    { schema: { body: jobRequestSchema } },
    async (req, reply) => {
      const method = await methodFor({});
      const job = jobs.start(req.body.texts, async (docs, onDone) => {
        const out: NerDocument[] = [];
        for (let i = 0; i < docs.length; i += 16) {
          const r = await method.extract(docs.slice(i, i + 16));
          out.push(...r);
          onDone(r.length);
        }
        return out;
      });
      return reply.code(202).send({ id: job.id, status: job.status, total: job.total });
    },
  );

  app.get<{ Params: { id: string } }>('/v1/ner/jobs/:id', async (req) => {
    const job = jobs.get(req.params.id);
    if (!job) throw new HttpError(404, `no job ${req.params.id}`);
    const { results, ...rest } = job;
    return {
      ...rest,
      ...(results ? { results: results.map((d) => ({ text: d.text, entities: d.entities })) } : {}),
    };
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const r = await checkEngines(opts.config);
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/metrics', async (_req, reply) => {
    costSnapshot = await settledMethods();
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  app.get('/openapi.json', async () => openApiDocument);
  app.get<{ Querystring: { text?: string } }>('/', async (req, reply) => {
    const text = (req.query.text ?? '').trim();
    reply.header('content-type', 'text/html; charset=utf-8');
    let page = renderView([], { title: 'el4ner' });
    if (text) {
      const { docs } = await withTimeout(tag({ text }), timeoutMs);
      page = renderView(docs, { title: 'el4ner' });
    }
    return page.replace('<h2>Documents</h2>', `${FORM(text)}<h2>Documents</h2>`);
  });

  app.addHook('onClose', async () => {
    await jobs.idle();
    for (const r of await settledMethods()) await r.close();
  });
  return app;
}

/**
 * The HTTP service: POST /v1/ner, batch jobs, health, readiness, Prometheus metrics, OpenAPI, and
 * an HTML page at GET /. Methods are built from the config by `createMethod` (one per distinct
 * label set / stage options a request asks for, normalised; at most 8 kept, the least recently
 * used idle one closed to make room: method-slots.ts); the default one is built at start and kept, so /readyz says
 * whether the config really works. A batch (`texts`, jobs) answers every document: one no model
 * answered for is a row with no entities, `degraded` and its `error`, as `el4ner run` writes it;
 * a single `text` no model answered for is a 503.
 *
 * Faults from outside: a request that times out (504) or whose client goes away is aborted, and
 * the abort reaches every model call (no request is sent for it afterwards); a 5xx body never
 * holds a server path or file contents (the details go to the log); without a token, a Host that
 * is not an IP or localhost is refused (DNS rebinding) and the HTML form refuses cross-site
 * requests; HTML pages carry a Content-Security-Policy.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { createMethod } from '../assemble/index.js';
import { classifyError } from '../cli/errors.js';
import type { Config } from '../config/schema.js';
import { attachDocumentContext } from '../core/context.js';
import { ConfigError, InputError, NoAnswerError } from '../core/errors.js';
import type { Method } from '../core/method.js';
import { redactUrl } from '../core/redact.js';
import type { NerDocument } from '../core/types.js';
import { renderView } from '../view/render.js';
import { HttpError } from './http-error.js';
import { JobStore } from './jobs.js';
import { MethodSlots } from './method-slots.js';
import { createMetrics } from './metrics.js';
import { jobRequestSchema, nerRequestSchema, openApiDocument } from './openapi.js';
import { checkReadiness, type MethodState } from './readiness.js';
import { notFoundMessage, requestErrorMessage, requestPath, wrongMethodMessage } from './request-errors.js';
import { watchRouteMethods } from './route-methods.js';

export interface ServerOptions {
  config: Config;
  /** The file `config` was read from, named in the errors about it. */
  configFile?: string;
  /** Builds a method for a config (default: createMethod). */
  makeMethod?: (config: Config) => Promise<Method>;
  /** Bearer token required on every route but /healthz. */
  token?: string;
  /** Largest request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Per-request time limit in ms (default 120 s). */
  requestTimeoutMs?: number;
  logger?: boolean;
  /** Host names accepted besides IP addresses and localhost when no token is set. */
  allowedHosts?: string[];
  /** Where server-side error details go (default: stderr). */
  log?: (message: string) => void;
}

interface NerBody {
  text?: string;
  texts?: string[];
  labels?: string[];
  stages?: Record<string, unknown>;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  // the scheme name is case-insensitive (RFC 7235 section 2.1)
  const m = /^Bearer +(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Runs `work` with a signal that aborts when the time limit passes (then a 504) or the client
 * goes away: the abort reaches the method and, through it, every model call.
 */
async function underDeadline<T>(
  req: FastifyRequest,
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ctl = new AbortController();
  const timeout = new HttpError(504, `request timed out after ${ms} ms`);
  const timer = setTimeout(() => ctl.abort(timeout), ms);
  const res = req.raw.socket;
  const onGone = () => ctl.abort(new HttpError(499, 'the client closed the connection'));
  res?.once('close', onGone);
  let settle: (e: unknown) => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    settle = reject;
  });
  ctl.signal.addEventListener('abort', () => settle(ctl.signal.reason), { once: true });
  try {
    // the answer goes out at once on abort; the method's own rejection follows when its calls stop
    const running = work(ctl.signal);
    running.catch(() => {});
    return await Promise.race([running, aborted]);
  } finally {
    clearTimeout(timer);
    res?.off('close', onGone);
  }
}

const URL_RE = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)]+/gi;

/**
 * Model failure text for API clients: model names and causes stay, the models' URLs (internal
 * hosts) go (` at <url>` dropped, any other URL shown as `<url>`); the server log keeps them.
 */
function clientText(t: string): string {
  return t.replace(/ at \b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)]+/gi, '').replace(URL_RE, '<url>');
}

/** `clientText` on every string of warnings / failure details (never on document text or entities). */
function forClients<T>(v: T): T {
  if (typeof v === 'string') return clientText(v) as T;
  if (Array.isArray(v)) return v.map(forClients) as T;
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, forClients(x)])) as T;
  return v;
}

/** A document as the API returns it (POST /v1/ner and job results alike). */
function resultRow(d: NerDocument) {
  return {
    text: d.text,
    entities: d.entities,
    ...(d.degraded ? { degraded: true, warnings: forClients(d.warnings ?? []) } : {}),
    ...(d.error ? { error: clientText(d.error) } : {}),
  };
}

/** Loopback names, IP literals and the allowed names: what a Host header may be without a token. */
function hostAllowed(host: string | undefined, allowed: readonly string[]): boolean {
  if (!host) return false;
  const name = host
    .replace(/:\d+$/, '')
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':')) return true;
  return allowed.some((a) => a.toLowerCase() === name);
}

/** A browser request sent from another site (Fetch Metadata, else Origin/Referer against Host). */
function crossSite(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const from = req.headers.origin ?? req.headers.referer;
  if (typeof from !== 'string' || from === 'null') return typeof from === 'string';
  try {
    return new URL(from).host !== req.headers.host;
  } catch {
    return true;
  }
}

/** The HTML page may use its own inline styles and submit its form to itself, nothing else. */
const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const FORM = (text: string) =>
  `<form method="get" action="/" style="margin:1rem 0"><textarea name="text" rows="5" style="width:100%" placeholder="Text to tag">${text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')}</textarea><br><button type="submit">Find entities</button></form>`;

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`el4ner serve: ${m}\n`));
  const makeMethod =
    opts.makeMethod ?? ((config: Config) => createMethod(config, { log, configFile: opts.configFile }));
  const timeoutMs = opts.requestTimeoutMs ?? 120_000;
  const allowedHosts = opts.allowedHosts ?? [];
  const methods = new MethodSlots({ config: opts.config, make: makeMethod, log });
  const withMethod = methods.with.bind(methods);
  const settledMethods = () => methods.settled();
  // the default method is built now: a bad pool or CRF path shows in /readyz, not at a request
  let defaultState: MethodState = { state: 'building' };
  withMethod({}, async () => {}).then(
    () => {
      defaultState = { state: 'ready' };
    },
    (e: unknown) => {
      const id = randomUUID().slice(0, 8);
      // a config problem (a contextSize too small, a bad pool) is its one line; a bug keeps its stack
      const c = classifyError(e);
      log(`error ${id}: the method cannot be built from the config: ${redactText(c.bug ? e : c.message)}`);
      defaultState = {
        state: 'failed',
        error: `the method cannot be built from the config (server log, error ${id})`,
      };
    },
  );
  let costSnapshot: Method[] = [];
  const metrics = createMetrics(() => [methods.retiredCost(), ...costSnapshot.map((r) => r.cost())]);
  const jobs = new JobStore();
  const bodyLimit = opts.bodyLimit ?? 1024 * 1024;

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });
  // bodies are JSON only: a text/plain body would otherwise reach the schema as a bare string
  app.removeContentTypeParser('text/plain');
  // the methods of every route registered below: a known path asked with another method is a 405
  const methodsOf = watchRouteMethods(app);

  app.addHook('onRequest', async (req, reply) => {
    (req as unknown as { t0: bigint }).t0 = process.hrtime.bigint();
    // the connection closed before the response was sent: the client went away (499)
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) countRequest(req, 499);
    });
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!opts.token && !hostAllowed(req.headers.host, allowedHosts))
      return reply.code(403).send({
        error: `Host "${String(req.headers.host ?? '')}" is not allowed: without a token only IP addresses and localhost are (DNS rebinding); set a token (--token-env) or --allowed-host`,
      });
    if (opts.token && req.url !== '/healthz' && !tokenMatches(req.headers.authorization, opts.token)) {
      reply.header('www-authenticate', 'Bearer');
      return reply.code(401).send({ error: 'missing or wrong bearer token' });
    }
  });
  /** One count per request: its status, or 499 (the client closed the connection first). */
  const countRequest = (req: FastifyRequest, status: number) => {
    const r = req as unknown as { t0: bigint; counted?: boolean };
    if (r.counted) return;
    r.counted = true;
    const route = req.routeOptions.url ?? 'unknown';
    const seconds = Number(process.hrtime.bigint() - r.t0) / 1e9;
    metrics.requests.inc({ route, method: req.method, status: String(status) });
    metrics.latency.observe({ route }, seconds);
  };
  app.addHook('onResponse', async (req, reply) => {
    countRequest(req, reply.raw.writableFinished ? reply.statusCode : 499);
  });

  app.setErrorHandler(
    (
      err: Error & { statusCode?: number; validation?: { instancePath?: string }[]; code?: string },
      req,
      reply,
    ) => {
      if (err instanceof HttpError)
        return reply
          .code(err.statusCode)
          .send({ error: err.message, ...(err.details ? { details: err.details } : {}) });
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      if (status < 500)
        return reply
          .code(status)
          .send({ error: requestErrorMessage(err, req, bodyLimit), ...(err.code ? { code: err.code } : {}) });
      // the details (paths, file contents, stack) go to the server log, never into the body
      const id = randomUUID().slice(0, 8);
      log(`error ${id}: ${redactText(err.stack ?? err.message)}`);
      const unbuildable = err instanceof ConfigError || err instanceof InputError;
      return reply.code(unbuildable ? 503 : status).send({
        error: unbuildable
          ? `the method cannot be built from the config (server log, error ${id})`
          : `internal error (server log, error ${id})`,
      });
    },
  );

  app.setNotFoundHandler((req, reply) => {
    const allowed = methodsOf(requestPath(req));
    if (allowed.length === 0) return reply.code(404).send({ error: notFoundMessage(req) });
    return reply
      .code(405)
      .header('allow', allowed.join(', '))
      .send({ error: wrongMethodMessage(req, allowed) });
  });

  /**
   * Tags a request's documents. `texts` is a batch: a document no model answered for comes back as
   * a row with no entities, `degraded` and its `error` (as `el4ner run` writes it); a single `text`
   * no model answered for is a 503 naming each model's cause.
   */
  const tag = (body: NerBody, signal: AbortSignal): Promise<{ docs: NerDocument[]; warnings: unknown[] }> =>
    withMethod(body, async (method) => {
      const texts = body.texts ?? [body.text!];
      costSnapshot = await settledMethods();
      try {
        const r = await method.tag(texts, { signal, unanswered: body.texts ? 'row' : 'error' });
        return { docs: r.docs, warnings: forClients(r.failures) };
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        if (e instanceof NoAnswerError) {
          // the log keeps the models' URLs (credentials redacted); the body does not show them
          log(
            `503: ${redactText(e.message)}${e.failures.map((f) => `; ${f.model} ${f.stage}: ${redactText(f.lastError)}`).join('')}`,
          );
          throw new HttpError(503, `no engine answered: ${clientText(e.message)}`, forClients(e.failures));
        }
        throw e;
      }
    });

  app.post<{ Body: NerBody }>('/v1/ner', { schema: { body: nerRequestSchema } }, async (req) => {
    const { docs, warnings } = await underDeadline(req, timeoutMs, (signal) => tag(req.body, signal));
    return {
      results: docs.map(resultRow),
      ...(warnings.length ? { warnings } : {}),
    };
  });

  app.post<{ Body: { texts: string[] } }>(
    '/v1/ner/jobs',
    { schema: { body: jobRequestSchema } },
    async (req, reply) => {
      const { method, release } = await methods.lease({});
      const job = jobs.start(req.body.texts, async (input, onDone) => {
        try {
          const out: NerDocument[] = [];
          // Each text's context comes from the whole job, not from its slice of 16 (src/core/context.ts).
          const docs = attachDocumentContext(input);
          for (let i = 0; i < docs.length; i += 16) {
            // a document no model answered for is a row with its error; the job goes on
            const r = await method.extract(docs.slice(i, i + 16), { unanswered: 'row' });
            out.push(...r);
            onDone(r.length);
          }
          return out;
        } finally {
          release();
        }
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
      ...(results ? { results: results.map(resultRow) } : {}),
    };
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const r = await checkReadiness(opts.config, defaultState);
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
    reply.header('content-security-policy', CSP);
    reply.header('x-frame-options', 'DENY');
    // without a token, another site must not make this server call the models (and spend)
    if (text && !opts.token && crossSite(req))
      throw new HttpError(403, 'cross-site requests may not run the models; open the page itself');
    reply.header('content-type', 'text/html; charset=utf-8');
    let page = renderView([], { title: 'el4ner' });
    if (text) {
      const { docs } = await underDeadline(req, timeoutMs, (signal) => tag({ text }, signal));
      page = renderView(docs, { title: 'el4ner' });
    }
    return page.replace('<h2>Documents</h2>', `${FORM(text)}<h2>Documents</h2>`);
  });

  /** Error text for the log: URLs with their credentials redacted. */
  function redactText(e: unknown): string {
    const t = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return t.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (u) => redactUrl(u));
  }

  app.addHook('onClose', async () => {
    await jobs.idle();
    await methods.close();
  });
  return app;
}

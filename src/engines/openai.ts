/**
 * Engine for OpenAI-compatible HTTP servers (vLLM, SGLang, llama.cpp server, Ollama, LM Studio,
 * OpenAI itself) through the official `openai` SDK. The SDK's own retries are off: retries,
 * backoff, Retry-After, timeouts, the call's overall deadline and the response size limit are
 * this module's policy, so they are testable.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import pLimit from 'p-limit';
import type { OpenAIModelConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { redactUrl, scrubSecrets, splitCredentials } from '../core/redact.js';
import { EngineError } from './errors.js';
import type {
  ChatOptions,
  ChatRequest,
  ChatResponse,
  EmbedResponse,
  Engine,
  TokenLogprob,
  Usage,
} from './types.js';

export type ServerKind = 'openai' | 'vllm' | 'sglang' | 'llama.cpp' | 'ollama' | 'lmstudio';

export interface RetryPolicy {
  /** First backoff ceiling in ms; attempt n waits a uniform random time in [0, min(max, base·2^(n-1))]. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After honoured; longer values are capped to this. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
};

/** Largest response body accepted by default (a NER answer is a few KB; logprobs add some). */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface OpenAIEngineOptions {
  retry?: Partial<RetryPolicy>;
  /** Texts per embeddings request. */
  embedBatchSize?: number;
  /** Randomness source for backoff jitter (tests). */
  random?: () => number;
}

/** The call's deadline when `deadlineMs` is not set: every attempt's timeout plus a second each for backoff. */
export function defaultDeadlineMs(m: Pick<OpenAIModelConfig, 'timeoutMs' | 'maxAttempts'>): number {
  return m.maxAttempts * (m.timeoutMs + 1000);
}

/** Guesses the server flavour from the base URL (default ports and host names). */
export function detectServer(baseUrl: string): ServerKind {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    return 'openai';
  }
  const host = u.hostname.toLowerCase();
  const port = u.port;
  if (host === 'api.openai.com') return 'openai';
  if (port === '11434' || host.includes('ollama')) return 'ollama';
  if (port === '1234' || host.includes('lmstudio')) return 'lmstudio';
  if (port === '30000' || host.includes('sglang')) return 'sglang';
  if (port === '8000' || host.includes('vllm')) return 'vllm';
  if (port === '8080' || host.includes('llama')) return 'llama.cpp';
  return 'openai';
}

/** The request body for /chat/completions, with the server's structured-output fields. */
export function buildChatBody(
  model: string,
  server: ServerKind,
  req: ChatRequest,
  defaults: { temperature: number; maxTokens: number; seed?: number },
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model,
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    temperature: req.temperature ?? defaults.temperature,
    max_tokens: req.maxTokens ?? defaults.maxTokens,
  };
  const seed = req.seed ?? defaults.seed;
  if (seed !== undefined) body.seed = seed;
  if (req.stop?.length) body.stop = req.stop;
  if (req.logprobs) {
    body.logprobs = true;
    const k = Math.max(0, Math.min(20, req.topLogprobs ?? 0));
    if (k > 0) body.top_logprobs = k;
  }
  if (req.jsonSchema) {
    const { name, schema } = req.jsonSchema;
    body.response_format = { type: 'json_schema', json_schema: { name, schema, strict: true } };
    if (server === 'vllm') body.structured_outputs = { json: schema };
    else if (server === 'ollama') body.format = schema;
    else if (server === 'llama.cpp') body.json_schema = schema;
  }
  return body;
}

/** Maps `choices[0].logprobs.content` to TokenLogprob[]; undefined when the server sent none. */
export function mapLogprobs(raw: unknown): TokenLogprob[] | undefined {
  const content = (raw as { content?: unknown } | null | undefined)?.content;
  if (!Array.isArray(content) || content.length === 0) return undefined;
  const out: TokenLogprob[] = [];
  type RawTop = { token?: unknown; logprob?: unknown };
  const isTop = <T extends RawTop>(x: T | null): x is T & { token: string; logprob: number } =>
    !!x && typeof x.token === 'string' && typeof x.logprob === 'number';
  for (const t of content as Array<(RawTop & { top_logprobs?: RawTop[] }) | null>) {
    if (!isTop(t)) return undefined;
    const top = Array.isArray(t.top_logprobs)
      ? t.top_logprobs.filter(isTop).map((x) => ({ token: x.token, logprob: x.logprob }))
      : undefined;
    out.push(
      top?.length ? { token: t.token, logprob: t.logprob, top } : { token: t.token, logprob: t.logprob },
    );
  }
  return out;
}

/** Retry-After as milliseconds: `retry-after-ms`, seconds, or an HTTP date. */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Number(ms);
  const v = headers.get('retry-after');
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Number(v) * 1000;
  const date = Date.parse(v);
  if (!Number.isNaN(date)) return Math.max(0, date - now);
  return undefined;
}

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`request timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** The call's overall deadline (deadlineMs) passed or would pass before the next attempt. */
class DeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadlineError';
  }
}

/** The response body is larger than maxResponseBytes: refused while it streams in. */
export class ResponseTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the response is larger than maxResponseBytes (${limit} bytes)`);
    this.name = 'ResponseTooLargeError';
  }
}

/**
 * A fetch that refuses a body over `maxBytes`: by its Content-Length before reading, else by
 * counting while it streams, so memory per response stays bounded whatever the server sends.
 */
export function limitedFetch(maxBytes: number, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const res = await base(input, init);
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel().catch(() => {});
      throw new ResponseTooLargeError(maxBytes);
    }
    if (!res.body) return res;
    let seen = 0;
    const counted = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          seen += chunk.byteLength;
          if (seen > maxBytes) ctl.error(new ResponseTooLargeError(maxBytes));
          else ctl.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

/** Network error codes in words, for the one line a user reads. */
const NETWORK_CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running?)',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

function errorCode(e: unknown): string | undefined {
  for (
    let c = e as { code?: unknown; cause?: unknown } | undefined, i = 0;
    c && i < 6;
    c = c.cause as typeof c, i++
  )
    if (typeof c.code === 'string' && NETWORK_CAUSES[c.code]) return c.code;
  return undefined;
}

/** The model ids of a GET /models body (`{"data": [{"id": ...}]}`), or undefined when it is not such a list. */
export function modelListIds(body: unknown): string[] | undefined {
  const data = (body as { data?: unknown } | null | undefined)?.data;
  if (!Array.isArray(data)) return undefined;
  return data.map((d) => d?.id).filter((id): id is string => typeof id === 'string');
}

/**
 * Why a connection failed, in words: `connection refused (is the server running?) (ECONNREFUSED)`,
 * else the innermost cause (`connection error (Response does not match the HTTP/1.1 protocol ...)`).
 */
export function connectionCause(e: unknown): string {
  const code = errorCode(e);
  if (code) return `${NETWORK_CAUSES[code]} (${code})`;
  let inner: unknown = e;
  for (let i = 0; i < 6 && (inner as { cause?: unknown })?.cause; i++)
    inner = (inner as { cause: unknown }).cause;
  const why = inner !== e && inner instanceof Error ? inner.message : '';
  return why && why !== 'fetch failed' ? `connection error (${why})` : 'connection error';
}

/**
 * The cause of a failed attempt in a few words: `HTTP 401 (...)`, `connection refused`,
 * `timed out after N ms`, ... (the details follow in the message).
 */
export function causeOf(e: unknown): string {
  if (e instanceof TimeoutError || e instanceof DeadlineError || e instanceof ResponseTooLargeError)
    return e.message;
  if (e instanceof APIError && e.status !== undefined) {
    const hint: Record<number, string> = {
      401: ' unauthorized (check the API key: apiKeyEnv)',
      403: ' forbidden (check the API key: apiKeyEnv)',
      404: ' not found (check baseUrl and the model name)',
      408: ' request timeout',
      413: ' request too large',
      429: ' rate limited',
    };
    return `HTTP ${e.status}${hint[e.status] ?? (e.status >= 500 ? ' server error' : '')}`;
  }
  if (errorCode(e) || e instanceof APIConnectionError) return connectionCause(e);
  if (e instanceof BadResponseError || e instanceof SyntaxError) return 'malformed response';
  return e instanceof Error ? e.name : 'error';
}

class BadResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadResponseError';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class OpenAIEngine implements Engine {
  readonly name: string;
  readonly identity: string;
  readonly server: ServerKind;
  private readonly client: OpenAI;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;
  private readonly embedBatchSize: number;
  private readonly deadlineMs: number;
  /** The base URL as shown in messages (credentials replaced by ***). */
  private readonly shownUrl: string;
  /** Only used to scrub secrets from error text, never stored elsewhere. */
  readonly #secrets: string[];

  constructor(
    private readonly cfg: OpenAIModelConfig,
    opts: OpenAIEngineOptions = {},
  ) {
    this.name = cfg.name;
    let key = 'EMPTY';
    if (cfg.apiKeyEnv) {
      const v = process.env[cfg.apiKeyEnv];
      if (!v)
        throw new ConfigError(`model "${cfg.name}": apiKeyEnv names ${cfg.apiKeyEnv}, which is not set`);
      key = v;
    }
    // fetch refuses URLs with credentials (and its error would print them): they go in a header
    const { url: bareUrl, user, password } = splitCredentials(cfg.baseUrl);
    if (user !== undefined && cfg.apiKeyEnv)
      throw new ConfigError(
        `model "${cfg.name}": give the credentials either in baseUrl or in apiKeyEnv, not both`,
      );
    this.#secrets = [
      key === 'EMPTY' ? '' : key,
      password ?? '',
      user && password ? `${user}:${password}` : '',
    ];
    this.shownUrl = redactUrl(cfg.baseUrl);
    this.server = cfg.server === 'auto' ? detectServer(cfg.baseUrl) : cfg.server;
    const base = bareUrl.replace(/\/+$/, '');
    this.identity = `openai|${this.server}|${redactUrl(cfg.baseUrl).replace(/\/+$/, '')}|${cfg.model}${cfg.embeddingModel ? `|embed:${cfg.embeddingModel}` : ''}`;
    this.deadlineMs = cfg.deadlineMs ?? defaultDeadlineMs(cfg);
    // the SDK timeout is only a backstop: `once` enforces timeoutMs over the whole exchange
    this.client = new OpenAI({
      apiKey: key,
      baseURL: base,
      maxRetries: 0,
      timeout: cfg.timeoutMs + 1000,
      fetch: limitedFetch(cfg.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES),
      ...(user !== undefined
        ? {
            defaultHeaders: {
              Authorization: `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}`,
            },
          }
        : {}),
    });
    this.limit = pLimit(cfg.concurrency);
    this.retry = { ...defaultRetryPolicy, ...opts.retry };
    this.random = opts.random ?? Math.random;
    this.embedBatchSize = opts.embedBatchSize ?? 64;
  }

  /**
   * Servers that refuse token logprobs (some hosted models, some engines) answer 400 or 422: the
   * request is sent again without them, and after a refusal this engine stops asking. The answer
   * then simply has no logprobs, as from a server that ignores them (soft votes stay hard, fusion
   * keeps the SLM).
   */
  private logprobsRefused = false;

  async chat(request: ChatRequest, options: ChatOptions = {}): Promise<ChatResponse> {
    const plain = (): ChatRequest => ({ ...request, logprobs: false, topLogprobs: undefined });
    if (!request.logprobs) return this.chatOnce(request, options);
    if (this.logprobsRefused) return this.chatOnce(plain(), options);
    try {
      return await this.chatOnce(request, options);
    } catch (e) {
      if (!(e instanceof EngineError) || (e.status !== 400 && e.status !== 422)) throw e;
      const r = await this.chatOnce(plain(), options);
      this.logprobsRefused = true;
      return r;
    }
  }

  private async chatOnce(request: ChatRequest, options: ChatOptions): Promise<ChatResponse> {
    const body = buildChatBody(this.cfg.model, this.server, request, this.cfg);
    return this.withRetries('chat', options.signal, async (signal, call) => {
      const started = Date.now();
      const res = (await this.client.chat.completions.create(
        body as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
        { signal },
      )) as unknown as RawChat | string | null;
      const choice = typeof res === 'object' ? res?.choices?.[0] : undefined;
      if (!res || typeof res !== 'object' || !choice || !choice.message) {
        throw new BadResponseError(`malformed response: ${describe(res)}`);
      }
      const u = res.usage;
      const usage: Usage = {
        promptTokens: num(u?.prompt_tokens),
        completionTokens: num(u?.completion_tokens),
        cachedPromptTokens: num(u?.prompt_tokens_details?.cached_tokens),
      };
      return {
        text: typeof choice.message.content === 'string' ? choice.message.content : '',
        logprobs: request.logprobs ? mapLogprobs(choice.logprobs) : undefined,
        usage,
        latencyMs: Date.now() - started,
        attempts: call.attempt,
        deadline: call.deadline,
      };
    });
  }

  /**
   * Start-up check: GET {baseUrl}/models answers within `timeoutMs` (one attempt, no retry).
   * Throws an EngineError whose message says why not (connection refused, HTTP 401, ...).
   */
  async probe(timeoutMs = 5000): Promise<void> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new TimeoutError(timeoutMs)), timeoutMs);
    try {
      // the body itself: the SDK's models.list() makes a page of any 200 body, so a web UI at
      // baseUrl would pass for a server of no models
      const body: unknown = await this.client.get('/models', { signal: ctl.signal });
      if (!modelListIds(body))
        throw new BadResponseError(
          `GET /models is not an OpenAI model list: ${JSON.stringify(describe(body).trim().slice(0, 60))}; check baseUrl`,
        );
    } catch (e) {
      const cause = ctl.signal.aborted ? ctl.signal.reason : e;
      throw this.fail('GET /models', 1, cause instanceof APIError ? cause.status : undefined, cause);
    } finally {
      clearTimeout(timer);
    }
  }

  async embed(
    texts: string[],
    options: { signal?: AbortSignal; stage?: string } = {},
  ): Promise<EmbedResponse> {
    const started = Date.now();
    const model = this.cfg.embeddingModel ?? this.cfg.model;
    const batches: string[][] = [];
    for (let i = 0; i < texts.length; i += this.embedBatchSize)
      batches.push(texts.slice(i, i + this.embedBatchSize));
    const parts = await Promise.all(
      batches.map((batch) =>
        this.withRetries('embeddings', options.signal, async (signal) => {
          const res = (await this.client.embeddings.create(
            { model, input: batch, encoding_format: 'float' },
            { signal },
          )) as unknown as RawEmbeddings | string | null;
          const data = typeof res === 'object' ? res?.data : undefined;
          if (!Array.isArray(data) || data.length !== batch.length) {
            throw new BadResponseError(`malformed embeddings response: ${describe(res)}`);
          }
          const vectors = [...data]
            .sort((a, b) => num(a.index) - num(b.index))
            .map((d) => {
              if (!Array.isArray(d.embedding)) throw new BadResponseError('embedding is not a number array');
              return Float32Array.from(d.embedding as number[]);
            });
          return { vectors, promptTokens: num(typeof res === 'object' ? res?.usage?.prompt_tokens : 0) };
        }),
      ),
    );
    return {
      vectors: parts.flatMap((p) => p.vectors),
      usage: {
        promptTokens: parts.reduce((n, p) => n + p.promptTokens, 0),
        completionTokens: 0,
        cachedPromptTokens: 0,
      },
      latencyMs: Date.now() - started,
    };
  }

  async close(): Promise<void> {}

  /**
   * Runs one attempt at a time under the concurrency limit; backoff waits do not hold a slot.
   * The call's deadline (deadlineMs) starts with its first attempt and bounds everything after:
   * each attempt gets at most the time left, and a backoff or Retry-After wait that would end
   * past it fails the call at once.
   */
  private async withRetries<T>(
    what: string,
    callerSignal: AbortSignal | undefined,
    attempt: (signal: AbortSignal, call: { attempt: number; deadline: number }) => Promise<T>,
  ): Promise<T> {
    const max = this.cfg.maxAttempts;
    let lastError: unknown;
    let lastStatus: number | undefined;
    let deadline: number | undefined;
    for (let n = 1; n <= max; n++) {
      if (callerSignal?.aborted) throw callerSignal.reason ?? new Error('aborted');
      let retryAfter: number | undefined;
      try {
        return await this.limit(() => {
          // a call that waited for a slot may have been given up meanwhile: send nothing then
          callerSignal?.throwIfAborted();
          deadline ??= Date.now() + this.deadlineMs;
          const left = deadline - Date.now();
          if (left <= 0) throw new DeadlineError(`the call's deadline of ${this.deadlineMs} ms passed`);
          const call = { attempt: n, deadline };
          return this.once(
            (signal) => attempt(signal, call),
            callerSignal,
            Math.min(this.cfg.timeoutMs, left),
          );
        });
      } catch (e) {
        if (callerSignal?.aborted) throw e;
        lastError = e;
        const status = e instanceof APIError ? e.status : undefined;
        if (status !== undefined) lastStatus = status;
        if (!isRetryable(e)) {
          throw this.fail(what, n, status, e);
        }
        if (e instanceof APIError) retryAfter = parseRetryAfter(e.headers as Headers | undefined);
      }
      if (n === max) break;
      const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (n - 1));
      const wait =
        retryAfter !== undefined
          ? Math.min(retryAfter, this.retry.maxRetryAfterMs)
          : Math.floor(this.random() * ceiling);
      if (deadline !== undefined && Date.now() + wait >= deadline) {
        const why =
          retryAfter !== undefined
            ? `the server asked to retry after ${Math.round(retryAfter)} ms, past the call's deadline of ${this.deadlineMs} ms`
            : `no time left before the call's deadline of ${this.deadlineMs} ms`;
        throw this.fail(what, n, lastStatus, lastError, why);
      }
      await sleep(wait, callerSignal);
    }
    throw this.fail(what, max, lastStatus, lastError);
  }

  /** One attempt with a timeout covering the whole exchange, body included. */
  private async once<T>(
    attempt: (signal: AbortSignal) => Promise<T>,
    callerSignal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<T> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new TimeoutError(timeoutMs)), timeoutMs);
    const onAbort = () => ctl.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await attempt(ctl.signal);
    } catch (e) {
      if (ctl.signal.aborted && ctl.signal.reason instanceof TimeoutError && !callerSignal?.aborted)
        throw ctl.signal.reason;
      // the size limit's error may come wrapped by the SDK
      const tooLarge = findCause(e, ResponseTooLargeError);
      if (tooLarge) throw tooLarge;
      throw e;
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onAbort);
    }
  }

  private fail(
    what: string,
    attempts: number,
    status: number | undefined,
    cause: unknown,
    stoppedBecause?: string,
  ): EngineError {
    const detail = this.scrub(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
    const reason = causeOf(cause);
    const why = stoppedBecause ? ` (stopped: ${stoppedBecause})` : '';
    const msg = `model "${this.name}" (${this.cfg.model} at ${this.shownUrl}): ${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}${why}; ${detail}`;
    const safeCause =
      cause instanceof Error
        ? Object.assign(new Error(this.scrub(cause.message)), { name: cause.name })
        : cause;
    return new EngineError(msg, {
      model: this.name,
      attempts,
      status,
      reason,
      cause: safeCause,
      answered:
        cause instanceof ResponseTooLargeError || (status !== undefined && [400, 413, 422].includes(status)),
      oversized: cause instanceof ResponseTooLargeError,
    });
  }

  private scrub(s: string): string {
    return scrubSecrets(s.split(this.cfg.baseUrl).join(this.shownUrl), this.#secrets);
  }
}

/** The first error of class `C` in the cause chain of `e`. */
function findCause<C extends Error>(e: unknown, C: abstract new (...a: never[]) => C): C | undefined {
  for (let c = e, i = 0; c && i < 6; c = (c as { cause?: unknown }).cause, i++) if (c instanceof C) return c;
  return undefined;
}

function isRetryable(e: unknown): boolean {
  if (e instanceof ResponseTooLargeError || e instanceof DeadlineError) return false;
  if (e instanceof TimeoutError || e instanceof BadResponseError || e instanceof SyntaxError) return true;
  if (e instanceof APIUserAbortError) return false;
  if (e instanceof APIConnectionError) return true; // includes APIConnectionTimeoutError
  if (e instanceof APIError) {
    const s = e.status;
    return s === undefined || s === 408 || s === 409 || s === 429 || s >= 500;
  }
  // fetch/undici failures while reading the body (truncated stream, socket reset)
  if (e instanceof TypeError || (e instanceof Error && /terminated|socket|ECONNRESET|EPIPE/i.test(e.message)))
    return true;
  return false;
}

/** What servers really send: every field may be missing. */
interface RawChat {
  choices?: Array<{ message?: { content?: unknown }; logprobs?: unknown }>;
  usage?: {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown } | null;
  };
}

interface RawEmbeddings {
  data?: Array<{ index?: unknown; embedding?: unknown }>;
  usage?: { prompt_tokens?: unknown };
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function describe(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return (s ?? String(v)).slice(0, 200);
}

/**
 * Engine for OpenAI-compatible HTTP servers (vLLM, SGLang, llama.cpp server, Ollama, LM Studio,
 * OpenAI itself) through the official `openai` SDK. The SDK's own retries are off: retries,
 * backoff, Retry-After and timeouts are this module's policy, so they are testable.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import pLimit from 'p-limit';
import type { OpenAIModelConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
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

export interface OpenAIEngineOptions {
  retry?: Partial<RetryPolicy>;
  /** Texts per embeddings request. */
  embedBatchSize?: number;
  /** Randomness source for backoff jitter (tests). */
  random?: () => number;
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
  /** Only used to scrub the key from error text, never stored elsewhere. */
  readonly #apiKey: string;

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
    this.#apiKey = key;
    this.server = cfg.server === 'auto' ? detectServer(cfg.baseUrl) : cfg.server;
    const base = cfg.baseUrl.replace(/\/+$/, '');
    this.identity = `openai|${this.server}|${base}|${cfg.model}${cfg.embeddingModel ? `|embed:${cfg.embeddingModel}` : ''}`;
    // the SDK timeout is only a backstop: `once` enforces timeoutMs over the whole exchange
    this.client = new OpenAI({ apiKey: key, baseURL: base, maxRetries: 0, timeout: cfg.timeoutMs + 1000 });
    this.limit = pLimit(cfg.concurrency);
    this.retry = { ...defaultRetryPolicy, ...opts.retry };
    this.random = opts.random ?? Math.random;
    this.embedBatchSize = opts.embedBatchSize ?? 64;
  }

  async chat(request: ChatRequest, options: ChatOptions = {}): Promise<ChatResponse> {
    const body = buildChatBody(this.cfg.model, this.server, request, this.cfg);
    return this.withRetries('chat', options.signal, async (signal) => {
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
      };
    });
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

  /** Runs one attempt at a time under the concurrency limit; backoff waits do not hold a slot. */
  private async withRetries<T>(
    what: string,
    callerSignal: AbortSignal | undefined,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const max = this.cfg.maxAttempts;
    let lastError: unknown;
    let lastStatus: number | undefined;
    for (let n = 1; n <= max; n++) {
      if (callerSignal?.aborted) throw callerSignal.reason ?? new Error('aborted');
      let retryAfter: number | undefined;
      try {
        return await this.limit(() => this.once(attempt, callerSignal));
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
      await sleep(wait, callerSignal);
    }
    throw this.fail(what, max, lastStatus, lastError);
  }

  /** One attempt with a timeout covering the whole exchange, body included. */
  private async once<T>(
    attempt: (signal: AbortSignal) => Promise<T>,
    callerSignal?: AbortSignal,
  ): Promise<T> {
    const ctl = new AbortController();
    const timeoutMs = this.cfg.timeoutMs;
    const timer = setTimeout(() => ctl.abort(new TimeoutError(timeoutMs)), timeoutMs);
    const onAbort = () => ctl.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await attempt(ctl.signal);
    } catch (e) {
      if (ctl.signal.aborted && ctl.signal.reason instanceof TimeoutError && !callerSignal?.aborted)
        throw ctl.signal.reason;
      throw e;
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onAbort);
    }
  }

  private fail(what: string, attempts: number, status: number | undefined, cause: unknown): EngineError {
    const reason = this.scrub(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
    const st = status !== undefined ? `, last status ${status}` : '';
    const msg = `model "${this.name}" (${this.cfg.model} at ${this.cfg.baseUrl}): ${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}${st}: ${reason}`;
    const safeCause =
      cause instanceof Error
        ? Object.assign(new Error(this.scrub(cause.message)), { name: cause.name })
        : cause;
    return new EngineError(msg, { model: this.name, attempts, status, cause: safeCause });
  }

  private scrub(s: string): string {
    const k = this.#apiKey;
    return k && k !== 'EMPTY' && k.length >= 4 ? s.split(k).join('[redacted]') : s;
  }
}

function isRetryable(e: unknown): boolean {
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

/**
 * Builds the engines named in the config and wraps each with the response cache, cost
 * accounting and a circuit breaker per model. Transport only: what an answer means is decided by
 * the answer resolver (src/answers), which reads every answer, cached or not.
 */
import type { Config } from '../config/schema.js';
import { type BreakerOptions, CircuitBreaker, CircuitOpenError, defaultBreakerOptions } from './breaker.js';
import { chatCacheKey, embedCacheKey, ResponseCache } from './cache.js';
import { CostLedger } from './cost.js';
import { EngineError } from './errors.js';
import { buildEngine } from './kinds.js';
import type { RetryPolicy } from './openai.js';
import type { ChatRequest, ChatResponse, EmbedResponse, Engine } from './types.js';

export interface EngineSet {
  engines: Map<string, Engine>;
  ledger: CostLedger;
  cache?: ResponseCache;
  close(): Promise<void>;
}

export interface WrapDeps {
  cache?: ResponseCache;
  ledger: CostLedger;
  /** Model defaults filled into requests before caching, so the key holds the values really sent. */
  defaults?: { temperature?: number; maxTokens?: number; seed?: number };
  /** A circuit breaker for this model (createEngines gives every configured model one). */
  breaker?: Partial<BreakerOptions>;
  /** Where breaker changes are said (default: stderr). */
  log?: (message: string) => void;
}

const stderrLog = (m: string) => process.stderr.write(`el4ner: ${m}\n`);

/** Whether a failed call says something about the model being down (not a refused request, not our abort). */
function countsAgainstModel(e: unknown): e is EngineError {
  return e instanceof EngineError && !(e instanceof CircuitOpenError) && !e.answered;
}

/**
 * Cache (temperature 0 chat requests and all embeddings; identical requests in flight share one
 * call) + ledger records per stage and model.
 */
export function wrapEngine(engine: Engine, deps: WrapDeps): Engine {
  const { cache, ledger } = deps;
  const breaker = deps.breaker
    ? new CircuitBreaker(engine.name, { ...defaultBreakerOptions, ...deps.breaker }, deps.log ?? stderrLog)
    : undefined;
  if (breaker) ledger.watchBreaker(engine.name, () => breaker.report());
  const record = (
    stage: string,
    t0: number,
    r?: { usage: ChatResponse['usage']; latencyMs: number; attempts?: number },
    error?: unknown,
  ) =>
    ledger.record({
      stage,
      model: engine.name,
      promptTokens: r?.usage.promptTokens ?? 0,
      completionTokens: r?.usage.completionTokens ?? 0,
      cachedPromptTokens: r?.usage.cachedPromptTokens ?? 0,
      ms: r?.latencyMs || Date.now() - t0,
      cached: false,
      requests: r ? (r.attempts ?? 1) : error instanceof EngineError ? error.attempts : 1,
      ...(r ? {} : { failed: true }),
    });
  /** Runs one model call through the breaker: refused at once while it is open. */
  const guarded = async <R extends { usage: ChatResponse['usage']; latencyMs: number }>(
    stage: string,
    signal: AbortSignal | undefined,
    run: () => Promise<R>,
  ): Promise<R> => {
    try {
      breaker?.admit();
    } catch (e) {
      ledger.recordRefused(stage, engine.name);
      throw e;
    }
    const t0 = Date.now();
    try {
      const r = await run();
      breaker?.success();
      record(stage, t0, r);
      return r;
    } catch (e) {
      if (signal?.aborted) breaker?.release();
      else if (countsAgainstModel(e)) breaker?.failure(e.reason ?? e.message);
      else breaker?.release();
      record(stage, t0, undefined, e);
      throw e;
    }
  };
  const recordHit = (stage: string) =>
    ledger.record({
      stage,
      model: engine.name,
      promptTokens: 0,
      completionTokens: 0,
      cachedPromptTokens: 0,
      ms: 0,
      cached: true,
    });
  const d = deps.defaults ?? {};
  const pending = new Map<string, Promise<ChatResponse>>();

  const call = (req: ChatRequest, stage: string, signal?: AbortSignal): Promise<ChatResponse> =>
    guarded(stage, signal, () => engine.chat(req, { signal }));

  return {
    name: engine.name,
    get identity() {
      return engine.identity;
    },
    async chat(request, options = {}) {
      const stage = request.stage ?? 'other';
      const req: ChatRequest = {
        ...request,
        temperature: request.temperature ?? d.temperature,
        maxTokens: request.maxTokens ?? d.maxTokens,
        seed: request.seed ?? d.seed,
      };
      const cacheable = cache !== undefined && (req.temperature ?? 0) === 0;
      if (!cacheable) return call(req, stage, options.signal);
      const key = chatCacheKey(engine.identity, req);
      if (options.cache !== 'refresh') {
        const t0 = Date.now();
        const hit = cache.getChat(key);
        if (hit) {
          recordHit(stage);
          return { ...hit, latencyMs: Date.now() - t0, fromCache: true };
        }
        const running = pending.get(key);
        if (running) {
          // an identical request is already on its way: share its answer instead of asking twice
          // (unless the other caller gave up on it: then ask for ourselves)
          const res = await running.catch(() => undefined);
          if (res) {
            recordHit(stage);
            return { ...res, fromCache: true };
          }
          options.signal?.throwIfAborted();
          if (pending.get(key) === running) pending.delete(key);
          return this.chat(request, { ...options, cache: 'refresh' });
        }
      }
      ledger.recordMiss();
      const p = call(req, stage, options.signal).then((res) => {
        cache.putChat(key, engine.identity, res);
        return res;
      });
      pending.set(key, p);
      try {
        return await p;
      } finally {
        if (pending.get(key) === p) pending.delete(key);
      }
    },
    async embed(texts, options = {}) {
      const stage = options.stage ?? 'embed';
      const key = cache ? embedCacheKey(engine.identity, texts) : undefined;
      if (cache && key) {
        const t0 = Date.now();
        const hit = cache.getEmbed(key);
        if (hit) {
          recordHit(stage);
          return {
            vectors: hit.vectors,
            usage: hit.usage,
            latencyMs: Date.now() - t0,
          } satisfies EmbedResponse;
        }
        ledger.recordMiss();
      }
      const res = await guarded(stage, options.signal, () => engine.embed(texts, options));
      if (cache && key) cache.putEmbed(key, engine.identity, res);
      return res;
    },
    noteUnusable: (stage) => ledger.recordUnusable(stage, engine.name),
    ...(engine.promptFit ? { promptFit: engine.promptFit.bind(engine) } : {}),
    close: () => engine.close(),
  };
}

export interface CreateEnginesOptions {
  noCache?: boolean;
  cachePath?: string;
  ledger?: CostLedger;
  retry?: Partial<RetryPolicy>;
  /** Notices of the cache and the breakers (default: stderr). */
  log?: (message: string) => void;
}

/** Builds and wraps every model in the config; the cache follows `config.cache` unless `noCache`. */
export async function createEngines(config: Config, opts: CreateEnginesOptions = {}): Promise<EngineSet> {
  const ledger = opts.ledger ?? new CostLedger();
  const cache = useCache(config, opts)
    ? new ResponseCache(opts.cachePath ?? config.cache.path, { log: opts.log })
    : undefined;
  const raw: Engine[] = [];
  const engines = new Map<string, Engine>();
  try {
    for (const m of config.models) {
      const e = await buildEngine(m, { retry: opts.retry });
      raw.push(e);
      engines.set(
        m.name,
        wrapEngine(e, {
          cache,
          ledger,
          defaults: { temperature: m.temperature, maxTokens: m.maxTokens, seed: m.seed },
          breaker: m.circuitBreaker ?? {},
          log: opts.log,
        }),
      );
    }
  } catch (e) {
    await Promise.allSettled(raw.map((r) => r.close()));
    cache?.close();
    throw e;
  }
  return {
    engines,
    ledger,
    cache,
    async close() {
      await Promise.allSettled(raw.map((r) => r.close()));
      cache?.close();
    },
  };
}

/** Whether the response cache is on for these options. */
export function useCache(config: Config, opts: Pick<CreateEnginesOptions, 'noCache' | 'cachePath'>): boolean {
  return !opts.noCache && (opts.cachePath !== undefined || config.cache.enabled);
}

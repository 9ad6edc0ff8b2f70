/**
 * Builds the engines named in the config and wraps each with the response cache and cost
 * accounting. Transport only: what an answer means is decided by the answer resolver
 * (src/answers), which reads every answer, cached or not.
 */
import type { Config } from '../config/schema.js';
import { chatCacheKey, embedCacheKey, ResponseCache } from './cache.js';
import { CostLedger } from './cost.js';
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
}

/**
 * Cache (temperature 0 chat requests and all embeddings; identical requests in flight share one
 * call) + ledger records per stage and model.
 */
export function wrapEngine(engine: Engine, deps: WrapDeps): Engine {
  const { cache, ledger } = deps;
  const record = (stage: string, t0: number, r?: { usage: ChatResponse['usage']; latencyMs: number }) =>
    ledger.record({
      stage,
      model: engine.name,
      promptTokens: r?.usage.promptTokens ?? 0,
      completionTokens: r?.usage.completionTokens ?? 0,
      cachedPromptTokens: r?.usage.cachedPromptTokens ?? 0,
      ms: r?.latencyMs || Date.now() - t0,
      cached: false,
      ...(r ? {} : { failed: true }),
    });
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

  const call = async (req: ChatRequest, stage: string, signal?: AbortSignal): Promise<ChatResponse> => {
    const t0 = Date.now();
    try {
      const r = await engine.chat(req, { signal });
      record(stage, t0, r);
      return r;
    } catch (e) {
      record(stage, t0);
      throw e;
    }
  };

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
          const res = await running;
          recordHit(stage);
          return { ...res, fromCache: true };
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
      const t0 = Date.now();
      let res: EmbedResponse;
      try {
        res = await engine.embed(texts, options);
      } catch (e) {
        record(stage, t0);
        throw e;
      }
      record(stage, t0, res);
      if (cache && key) cache.putEmbed(key, engine.identity, res);
      return res;
    },
    close: () => engine.close(),
  };
}

export interface CreateEnginesOptions {
  noCache?: boolean;
  cachePath?: string;
  ledger?: CostLedger;
  retry?: Partial<RetryPolicy>;
}

/** Builds and wraps every model in the config; the cache follows `config.cache` unless `noCache`. */
export async function createEngines(config: Config, opts: CreateEnginesOptions = {}): Promise<EngineSet> {
  const ledger = opts.ledger ?? new CostLedger();
  const cache = useCache(config, opts) ? new ResponseCache(opts.cachePath ?? config.cache.path) : undefined;
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

/**
 * Builds the engines named in the config and wraps each with the response cache, JSON-schema
 * validation (with one re-ask on a bad answer) and cost accounting.
 */
import type { Config, LlamaCppModelConfig, ModelConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { chatCacheKey, embedCacheKey, ResponseCache } from './cache.js';
import { CostLedger } from './cost.js';
import { EngineError, SchemaError } from './errors.js';
import { parseJsonAnswer, validateJson } from './json-answer.js';
import { OpenAIEngine, type RetryPolicy } from './openai.js';
import type { ChatRequest, ChatResponse, EmbedResponse, Engine, Usage } from './types.js';

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

/** The message that asks the model again after an answer that did not fit the schema. */
export function reaskMessage(error: string): string {
  return `Your answer was invalid: ${error}. Answer again with JSON only that matches the schema.`;
}

const addUsage = (a: Usage, b: Usage): Usage => ({
  promptTokens: a.promptTokens + b.promptTokens,
  completionTokens: a.completionTokens + b.completionTokens,
  cachedPromptTokens: a.cachedPromptTokens + b.cachedPromptTokens,
});

/**
 * Cache (temperature 0 chat requests and all embeddings) + schema validation with one retry
 * showing the error to the model + ledger records per stage and model.
 */
export function wrapEngine(engine: Engine, deps: WrapDeps): Engine {
  const { cache, ledger } = deps;
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
  const recordFailure = (stage: string, t0: number) =>
    ledger.record({
      stage,
      model: engine.name,
      promptTokens: 0,
      completionTokens: 0,
      cachedPromptTokens: 0,
      ms: Date.now() - t0,
      cached: false,
      failed: true,
    });
  const d = deps.defaults ?? {};
  const pending = new Map<string, Promise<ChatResponse>>();

  const call = async (req: ChatRequest, stage: string, signal?: AbortSignal): Promise<ChatResponse> => {
    const t0 = Date.now();
    try {
      const r = await engine.chat(req, { signal });
      ledger.record({
        stage,
        model: engine.name,
        promptTokens: r.usage.promptTokens,
        completionTokens: r.usage.completionTokens,
        cachedPromptTokens: r.usage.cachedPromptTokens,
        ms: r.latencyMs || Date.now() - t0,
        cached: false,
      });
      return r;
    } catch (e) {
      recordFailure(stage, t0);
      throw e;
    }
  };

  const validated = async (req: ChatRequest, stage: string, signal?: AbortSignal): Promise<ChatResponse> => {
    const first = await call(req, stage, signal);
    if (!req.jsonSchema) return first;
    const schema = req.jsonSchema.schema;
    try {
      const json =
        first.json !== undefined
          ? checkJson(first.json, schema, first.text, engine.name)
          : parseJsonAnswer(first.text, schema, engine.name);
      return { ...first, json };
    } catch (e) {
      if (!(e instanceof SchemaError)) throw e;
      const retryReq: ChatRequest = {
        ...req,
        messages: [
          ...req.messages,
          { role: 'assistant', content: first.text },
          { role: 'user', content: reaskMessage(e.message) },
        ],
      };
      const second = await call(retryReq, stage, signal);
      const json =
        second.json !== undefined
          ? checkJson(second.json, schema, second.text, engine.name)
          : parseJsonAnswer(second.text, schema, engine.name);
      return {
        ...second,
        json,
        usage: addUsage(first.usage, second.usage),
        latencyMs: first.latencyMs + second.latencyMs,
      };
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
      if (!cacheable) return validated(req, stage, options.signal);
      const key = chatCacheKey(engine.identity, req);
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
      ledger.recordMiss();
      const p = validated(req, stage, options.signal).then((res) => {
        cache.putChat(key, engine.identity, res);
        return res;
      });
      pending.set(key, p);
      try {
        return await p;
      } finally {
        pending.delete(key);
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
        recordFailure(stage, t0);
        throw e;
      }
      ledger.record({
        stage,
        model: engine.name,
        promptTokens: res.usage.promptTokens,
        completionTokens: res.usage.completionTokens,
        cachedPromptTokens: res.usage.cachedPromptTokens,
        ms: res.latencyMs || Date.now() - t0,
        cached: false,
      });
      if (cache && key) cache.putEmbed(key, engine.identity, res);
      return res;
    },
    close: () => engine.close(),
  };
}

function checkJson(value: unknown, schema: Record<string, unknown>, text: string, model: string): unknown {
  // an engine that already parsed the answer (grammar-constrained) is still validated
  const err = validateJson(value, schema);
  if (err !== undefined) throw new SchemaError(`the JSON does not match the schema: ${err}`, text, model);
  return value;
}

/** The engine options a llama-cpp model of the config turns into (every documented key passes through). */
export function llamaCppOptions(m: LlamaCppModelConfig) {
  return {
    name: m.name,
    path: m.path,
    modelCacheDir: m.modelCacheDir,
    contextSize: m.contextSize,
    parallel: m.parallel,
    threads: m.threads,
    lora: m.lora,
    embedding: m.embedding,
    gpu: m.gpu,
    build: m.build,
    download: m.download,
    hfEndpoint: m.hfEndpoint,
    probeTimeoutMs: m.probeTimeoutMs,
    defaultMaxTokens: m.maxTokens,
  };
}

/** node-llama-cpp is an optional dependency: only configs with a llama-cpp model need it. */
function llamaCppInstalled(): boolean {
  try {
    import.meta.resolve('node-llama-cpp');
    return true;
  } catch {
    return false;
  }
}

/** One raw engine of the config (no cache, no validation layer): createEngines wraps it; `el4ner doctor` probes it. */
export async function buildEngine(m: ModelConfig, retry?: Partial<RetryPolicy>): Promise<Engine> {
  if (m.engine === 'openai') return new OpenAIEngine(m, { retry });
  if (!llamaCppInstalled())
    throw new ConfigError(
      `model "${m.name}": engine llama-cpp needs the optional package node-llama-cpp, which is not installed; install it with: npm install node-llama-cpp (or use engine: openai with a llama.cpp server, docs/own-model.md)`,
    );
  let mod: { LlamaCppEngine?: new (o: ReturnType<typeof llamaCppOptions>) => Engine };
  try {
    // a variable specifier keeps this module type-checking whether or not the llama-cpp engine exists
    const spec = './llama-cpp/engine.js';
    mod = await import(spec);
  } catch (e) {
    throw new ConfigError(
      `model "${m.name}": the llama-cpp engine cannot be loaded: ${(e as Error).message}`,
    );
  }
  if (typeof mod.LlamaCppEngine !== 'function') {
    throw new ConfigError(`model "${m.name}": the llama-cpp engine module has no LlamaCppEngine export`);
  }
  return new mod.LlamaCppEngine(llamaCppOptions(m));
}

/** Builds and wraps every model in the config; the cache follows `config.cache` unless `noCache`. */
export async function createEngines(
  config: Config,
  opts: { noCache?: boolean; cachePath?: string; ledger?: CostLedger; retry?: Partial<RetryPolicy> } = {},
): Promise<EngineSet> {
  const ledger = opts.ledger ?? new CostLedger();
  const useCache = !opts.noCache && (opts.cachePath !== undefined || config.cache.enabled);
  const cache = useCache ? new ResponseCache(opts.cachePath ?? config.cache.path) : undefined;
  const engines = new Map<string, Engine>();
  const raw: Engine[] = [];
  try {
    for (const m of config.models) {
      const e = await buildEngine(m, opts.retry);
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

export { EngineError, SchemaError };

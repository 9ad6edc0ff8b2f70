/** The engines of a method: built from `config.models`, or handed in (tests, `el4ner tune`). */
import type { Config, ModelConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { ResponseCache } from '../engines/cache.js';
import { CostLedger } from '../engines/cost.js';
import { buildEngine } from '../engines/kinds.js';
import { createEngines, wrapEngine } from '../engines/registry.js';
import type { Engine } from '../engines/types.js';

export interface EngineSource {
  /** Ready engines by model name: a Map of bare engines (wrapped here for cost accounting) or an EngineSet. */
  engines?: ReadonlyMap<string, Engine> | { engines: ReadonlyMap<string, Engine>; ledger: CostLedger };
  noCache?: boolean;
  cachePath?: string;
  /** Notices of the cache and the circuit breakers (default: stderr). */
  log?: (message: string) => void;
}

export interface AssembledEngines {
  engines: ReadonlyMap<string, Engine>;
  ledger: CostLedger;
  /** The response cache of engines built here (none for handed-in engines or without a cache). */
  cache?: ResponseCache;
  /** Closes what was built here (handed-in engines are the caller's to close). */
  close(): Promise<void>;
}

export async function assembleEngines(config: Config, source: EngineSource): Promise<AssembledEngines> {
  const given = source.engines;
  if (given && 'ledger' in given)
    return { engines: given.engines, ledger: given.ledger, close: async () => {} };
  if (given) {
    const ledger = new CostLedger();
    const engines = new Map(
      [...(given as ReadonlyMap<string, Engine>)].map(([n, e]) => [n, wrapEngine(e, { ledger })]),
    );
    return { engines, ledger, close: async () => {} };
  }
  const set = await createEngines(config, {
    noCache: source.noCache,
    cachePath: source.cachePath,
    ...(source.log ? { log: source.log } : {}),
  });
  return set;
}

/** Chat models (not embedding-only ones), in config order. */
export function chatModels(config: Config, available: Iterable<string>): string[] {
  const embeddingOnly = new Set<string>(config.embedding ? [config.embedding.model] : []);
  for (const m of config.models) if (m.engine === 'llama-cpp' && m.embedding) embeddingOnly.add(m.name);
  return [...available].filter((n) => !embeddingOnly.has(n));
}

/** The backbones of the ensemble: `backbones`, or every chat model. */
export function backbonesOf(
  config: Config,
  available: Iterable<string> = config.models.map((m) => m.name),
): string[] {
  const b = config.backbones ?? chatModels(config, available);
  if (b.length === 0)
    throw new ConfigError('no backbone models: add chat models to `models` or list `backbones`');
  return [...b];
}

export function requireEngine(engines: ReadonlyMap<string, Engine>, name: string, key: string): Engine {
  const e = engines.get(name);
  if (!e) throw new ConfigError(`${key}: no engine for model "${name}"`);
  return e;
}

/**
 * One model's bare engine for a probe (`el4ner doctor`, start-up checks): no cache, no circuit
 * breaker and one attempt per call, so a failure is reported rather than waited out.
 */
export function probeEngine(m: ModelConfig, timeoutMs: number): Promise<Engine> {
  return buildEngine({ ...m, maxAttempts: 1, timeoutMs: Math.min(m.timeoutMs, timeoutMs) } as ModelConfig);
}

/**
 * The engine kinds, keyed by the config's `engine` field: each builds a transport from its model
 * config. A new kind is one entry here plus its schema in src/config/schema.ts. The embedded
 * llama.cpp engine loads lazily (node-llama-cpp is large and optional).
 */
import type { LlamaCppModelConfig, ModelConfig, OpenAIModelConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { OpenAIEngine, type RetryPolicy } from './openai.js';
import type { Engine } from './types.js';

export interface EngineBuildOptions {
  retry?: Partial<RetryPolicy>;
}

type Kind<M extends ModelConfig> = (model: M, options: EngineBuildOptions) => Promise<Engine>;

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

async function llamaCpp(m: LlamaCppModelConfig): Promise<Engine> {
  if (!llamaCppInstalled())
    throw new ConfigError(
      `model "${m.name}": engine llama-cpp needs the optional package node-llama-cpp, which is not installed; install it with: npm install node-llama-cpp (or use engine: openai with a llama.cpp server, docs/own-model.md)`,
    );
  let mod: typeof import('./llama-cpp/engine.js');
  try {
    mod = await import('./llama-cpp/engine.js');
  } catch (e) {
    throw new ConfigError(
      `model "${m.name}": the llama-cpp engine cannot be loaded: ${(e as Error).message}`,
    );
  }
  return new mod.LlamaCppEngine(llamaCppOptions(m));
}

export const ENGINE_KINDS: { openai: Kind<OpenAIModelConfig>; 'llama-cpp': Kind<LlamaCppModelConfig> } = {
  openai: async (m, o) => new OpenAIEngine(m, { retry: o.retry }),
  'llama-cpp': (m) => llamaCpp(m),
};

export function buildEngine(m: ModelConfig, options: EngineBuildOptions = {}): Promise<Engine> {
  return m.engine === 'openai' ? ENGINE_KINDS.openai(m, options) : ENGINE_KINDS['llama-cpp'](m, options);
}

/**
 * Builds the fusion tagger from the `fusion` section of the config: the CRF model file written
 * by `el4ner train-slm` and (optionally) one of the configured engines by name.
 */
import type { FusionConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { Engine } from '../engines/types.js';
import type { DemonstrationSource } from './inline-tagging.js';
import { createFusion, type Fusion } from './pipeline.js';

export interface FusionFromConfigOptions {
  retriever?: DemonstrationSource;
  /** Entity types the LLM may use. Default: the CRF's types. */
  types?: readonly string[];
}

export async function fusionFromConfig(
  cfg: FusionConfig,
  engines: ReadonlyMap<string, Engine>,
  options: FusionFromConfigOptions = {},
): Promise<Fusion> {
  const { CrfTagger } = await import('../slm/tagger.js');
  let slm: Awaited<ReturnType<typeof CrfTagger.load>>;
  try {
    slm = await CrfTagger.load(cfg.slm);
  } catch (e) {
    throw new ConfigError(`fusion.slm: cannot load the CRF model ${cfg.slm}: ${(e as Error).message}`);
  }
  let llm: Engine | undefined;
  if (cfg.llm !== undefined) {
    llm = engines.get(cfg.llm);
    if (!llm) throw new ConfigError(`fusion.llm: no model named "${cfg.llm}" in models`);
  }
  return createFusion({
    slm,
    llm,
    lambda: cfg.lambda,
    probability: cfg.probability,
    retriever: options.retriever,
    types: options.types,
  });
}

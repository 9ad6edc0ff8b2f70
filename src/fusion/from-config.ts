/**
 * Builds the fusion tagger from the `fusion` section of the config: the SLM of `fusion.slm` (a CRF
 * model file or an ONNX token classifier folder) and (optionally) one of the configured engines by name.
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
  const { loadSlm } = await import('../slm/load.js');
  const slm = await loadSlm(cfg.slm);
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

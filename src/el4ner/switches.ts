/** Stage switches: config `stages` (and `retrieval.mode`) with CLI overrides applied on top. */
import {
  CLASSIFICATION_MODES,
  type Config,
  EXTRACTION_MODES,
  RETRIEVAL_MODES,
  type StageSwitches,
} from '../config/schema.js';
import { ConfigError } from '../core/errors.js';

export type RetrievalMode = StageSwitches['retrieval'];

export interface ResolvedStages {
  retrieval: RetrievalMode;
  extraction: StageSwitches['extraction'];
  classification: StageSwitches['classification'];
  verification: boolean;
  decomposition: boolean;
  singleModel?: string;
}

export type StageOverrides = Partial<ResolvedStages>;

/** Override > `retrieval.mode` > `stages.retrieval` for the retrieval mode; override > `stages` for the rest. */
export function resolveStages(config: Config, overrides: StageOverrides = {}): ResolvedStages {
  const s = config.stages;
  return {
    retrieval: overrides.retrieval ?? config.retrieval.mode ?? s.retrieval,
    extraction: overrides.extraction ?? s.extraction,
    classification: overrides.classification ?? s.classification,
    verification: overrides.verification ?? s.verification,
    decomposition: overrides.decomposition ?? s.decomposition,
    singleModel: overrides.singleModel ?? s.singleModel,
  };
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new ConfigError(`${flag} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
  return value as T;
}

/** Commander option values of `run` / `eval` -> overrides. Commander's `--no-x` gives `x: false`. */
export function stageOverridesFromFlags(o: {
  retrieval?: string;
  verification?: boolean;
  decomposition?: boolean;
  extraction?: string;
  classification?: string;
  singleModel?: string;
}): StageOverrides {
  const out: StageOverrides = {};
  if (o.retrieval !== undefined) out.retrieval = oneOf('--retrieval', o.retrieval, RETRIEVAL_MODES);
  if (o.extraction !== undefined) out.extraction = oneOf('--extraction', o.extraction, EXTRACTION_MODES);
  if (o.classification !== undefined)
    out.classification = oneOf('--classification', o.classification, CLASSIFICATION_MODES);
  if (o.verification === false) out.verification = false;
  if (o.decomposition === false) out.decomposition = false;
  if (o.singleModel !== undefined) out.singleModel = o.singleModel;
  return out;
}

/** Stage switches: config `stages` (and `retrieval.mode`) with CLI overrides applied on top. */
import type { Config, StageSwitches } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';

export type RetrievalMode = StageSwitches['retrieval'];

export interface ResolvedStages {
  retrieval: RetrievalMode;
  extraction: 'union' | 'single';
  classification: 'vote' | 'weighted-vote' | 'single';
  verification: boolean;
  decomposition: boolean;
  singleModel?: string;
}

export type StageOverrides = Partial<ResolvedStages>;

/** Override > `retrieval.mode` > `stages.retrieval` for the retrieval mode; override > `stages` for the rest. */
export function resolveStages(config: Config, overrides: StageOverrides = {}): ResolvedStages {
  const s = config.stages;
  const out: ResolvedStages = {
    retrieval: overrides.retrieval ?? config.retrieval.mode ?? s.retrieval,
    extraction: overrides.extraction ?? s.extraction,
    classification: overrides.classification ?? s.classification,
    verification: overrides.verification ?? s.verification,
    decomposition: overrides.decomposition ?? s.decomposition,
    singleModel: overrides.singleModel ?? s.singleModel,
  };
  return out;
}

const MODES = ['span-level', 'sentence-embedding', 'random', 'none'];

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
  if (o.retrieval !== undefined) {
    if (!MODES.includes(o.retrieval)) throw new ConfigError(`--retrieval must be one of ${MODES.join(', ')}`);
    out.retrieval = o.retrieval as RetrievalMode;
  }
  if (o.extraction !== undefined) {
    if (o.extraction !== 'union' && o.extraction !== 'single')
      throw new ConfigError('--extraction must be union or single');
    out.extraction = o.extraction;
  }
  if (o.classification !== undefined) {
    if (!['vote', 'weighted-vote', 'single'].includes(o.classification))
      throw new ConfigError('--classification must be vote, weighted-vote or single');
    out.classification = o.classification as ResolvedStages['classification'];
  }
  if (o.verification === false) out.verification = false;
  if (o.decomposition === false) out.decomposition = false;
  if (o.singleModel !== undefined) out.singleModel = o.singleModel;
  return out;
}

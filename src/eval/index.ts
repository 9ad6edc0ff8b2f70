export { mulberry32 } from '../core/random.js';
export { type DocumentPair, type Pairing, type PairOptions, pairDocuments } from './align.js';
export {
  type BootstrapOptions,
  type BootstrapResult,
  bootstrapMicroF1,
  DEFAULT_BOOTSTRAP_RESAMPLES,
  DEFAULT_BOOTSTRAP_SEED,
  type PairedBootstrapResult,
  pairedBootstrap,
  quantile,
} from './bootstrap.js';
export {
  type Comparison,
  type EvalReport,
  type EvaluateOptions,
  evaluate,
  type TypeScore,
} from './evaluate.js';
export { formatReport } from './format.js';
export { type MucCounts, mucDocument, mucSchemas, type SchemaName, type SchemaScore } from './muc.js';
export { type Counts, type Prf, prf } from './prf.js';
export { countDocument, uniqueEntities } from './strict.js';
export { addTokenCounts, documentTokens } from './token-level.js';

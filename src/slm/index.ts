export { type CrfShape, type EncodedSentence, paramCount } from './crf.js';
export {
  documentTokens,
  entityTokenSpans,
  goldTags,
  readJsonlDocuments,
  type StrictScore,
  strictMicro,
} from './data.js';
export {
  DEFAULT_FEATURES,
  type FeatureConfig,
  Gazetteer,
  sentenceFeatures,
  shortShape,
  wordShape,
} from './features.js';
export { type LbfgsOptions, type LbfgsResult, lbfgs } from './lbfgs.js';
export { MODEL_FORMAT, MODEL_VERSION, ModelFileError } from './model-file.js';
export {
  type CrfScheme,
  CrfTagger,
  SLM_MODEL_NAME,
  type TokenMarginals,
  type TrainOptions,
  trainCrf,
} from './tagger.js';

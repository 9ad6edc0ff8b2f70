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
export { type LoadSlmOptions, loadSlm, type Slm, slmDescription, slmPath } from './load.js';
export { MODEL_FORMAT, MODEL_VERSION, ModelFileError } from './model-file.js';
export { ModelFolderError } from './onnx/errors.js';
export { OnnxTagger, type OnnxTaggerOptions, type OnnxTaggerStats } from './onnx/tagger.js';
export {
  type CrfScheme,
  CrfTagger,
  SLM_MODEL_NAME,
  type TokenMarginals,
  type TrainOptions,
  trainCrf,
} from './tagger.js';

export { ANN_DEFAULTS, type AnnOptions, ApproximateSpanSim } from './ann.js';
export { EngineEmbedder, LexicalEmbedder, l2normalize, type SpanEmbedder } from './embedders.js';
export {
  buildIndex,
  buildOrLoadIndex,
  docsHash,
  ensureSentenceVectors,
  INDEX_FORMAT_VERSION,
  type IndexManifest,
  type IndexOptions,
  type IndexSettings,
  indexBytes,
  inspectManifest,
  loadIndex,
  type ManifestState,
  type PoolIndex,
  type PoolSource,
  type PreExtract,
  readManifest,
  type SpansMode,
  saveIndex,
} from './index.js';
export { parsePoolJsonl, readPoolFile } from './pool-reader.js';
export {
  DEFAULT_K,
  DemonstrationRetriever,
  type QuerySpan,
  RETRIEVAL_MODES,
  type RetrievalMode,
  type RetrieveOptions,
} from './retriever.js';
export {
  cosineScores,
  randomK,
  type ScoredIndex,
  SpanSimScorer,
  type SpanTable,
  spanSimScores,
  storeDots,
  topK,
} from './span-sim.js';
export {
  type DensePrecision,
  type DenseStore,
  type SparseStore,
  StoreBuilder,
  type VectorStore,
} from './vectors.js';

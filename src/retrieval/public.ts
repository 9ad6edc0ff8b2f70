export { EngineEmbedder, LexicalEmbedder, l2normalize, type SpanEmbedder } from './embedders.js';
export {
  buildIndex,
  buildOrLoadIndex,
  docsHash,
  ensureSentenceVectors,
  type IndexManifest,
  type IndexOptions,
  type IndexSettings,
  loadIndex,
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
export { cosineScores, randomK, type ScoredIndex, spanSimScores, topK } from './span-sim.js';

/**
 * The el4ner library: `import { createPipeline, loadConfig } from 'el4ner'`.
 */
export { loadConfig, parseConfig } from './config/load.js';
export type { Config, ModelConfig, StageSwitches } from './config/schema.js';
export { ConfigError, InputError } from './core/errors.js';
export { splitSentences } from './core/sentences.js';
export { tokenize } from './core/tokenize.js';
export {
  compareEntities,
  type Entity,
  entityKey,
  type NerDocument,
  NONE_TYPE,
  type SourceVote,
  type Span,
  type TagScheme,
  type Token,
} from './core/types.js';
export { CostLedger, type CostSummary } from './engines/cost.js';
export { EngineError, SchemaError } from './engines/errors.js';
export { createEngines, type EngineSet } from './engines/registry.js';
export type { ChatRequest, ChatResponse, Engine } from './engines/types.js';
export { type EvalReport, evaluate, formatReport } from './eval/index.js';
export { formatDocuments, readDocuments, writeDocuments } from './formats/index.js';
export {
  type ChunkTrace,
  createPipeline,
  type DemoSource,
  type ModelFailure,
  type Pipeline,
  type PipelineInfo,
  type PipelineInput,
  type PipelineOptions,
  type RunResult,
} from './pipeline/el4ner.js';
export { combinePredictionFiles } from './pipeline/ensemble.js';
export {
  findOccurrences,
  type GroundingResult,
  groundMentions,
  type SpanMention,
} from './pipeline/grounding.js';
export { formatPipelineReport, type PipelineReport } from './pipeline/report.js';
export { type ResolvedStages, resolveStages, type StageOverrides } from './pipeline/stages.js';
export {
  combineSystems,
  decideType,
  type EnsembleStrategy,
  unionSpans,
  type Vote,
  weightsFromConfig,
} from './pipeline/voting.js';

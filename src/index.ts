/**
 * The el4ner library: `import { createMethod, loadConfig } from 'el4ner'`. `createMethod` is the
 * same entry the CLI uses, so the library runs every config `el4ner run` runs.
 */

export { SchemaError } from './answers/errors.js';
export {
  findOccurrences,
  type GroundingResult,
  groundMentions,
  type SpanMention,
} from './answers/grounding.js';
export { createTypeMapper, type MappedType, type TypeMapper } from './answers/labels.js';
export { createMethod, type MethodOptions, methodKind } from './assemble/index.js';
export { loadConfig, parseConfig } from './config/load.js';
export type { Config, ModelConfig, StageSwitches } from './config/schema.js';
export { ConfigError, InputError, NoAnswerError } from './core/errors.js';
export type { DocumentWarning, ModelFailure } from './core/failures.js';
export type {
  EvaluateOptions,
  Method,
  MethodInfo,
  MethodInput,
  MethodKind,
  MethodReport,
  TagOptions,
  TagResult,
} from './core/method.js';
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
export { formatPipelineReport, type PipelineReport } from './el4ner/report.js';
export type { ChunkTrace, SlmVoter } from './el4ner/state.js';
export { type ResolvedStages, resolveStages, type StageOverrides } from './el4ner/switches.js';
export { combineSystems, type EnsembleStrategy } from './el4ner/voting/combine.js';
export { decideType, type Vote, weightsFromConfig } from './el4ner/voting/decide.js';
export { combinePredictionFiles } from './el4ner/voting/prediction-files.js';
export { VOTING_RULES, type VotingRule, votingRule } from './el4ner/voting/rules.js';
export { unionSpans } from './el4ner/voting/union.js';
export { CostLedger, type CostSummary } from './engines/cost.js';
export { EngineError } from './engines/errors.js';
export { createEngines, type EngineSet } from './engines/registry.js';
export type { ChatRequest, ChatResponse, Engine } from './engines/types.js';
export { type EvalReport, evaluate, formatReport } from './eval/index.js';
export { formatDocuments, readDocuments, writeDocuments } from './formats/index.js';
export {
  createFusion,
  type Fusion,
  type FusionOptions,
  type FusionReport,
  fusionEval,
} from './fusion/pipeline.js';
export type { DemoSource } from './retrieval/demo-source.js';
export { CrfTagger, SLM_MODEL_NAME, type TrainOptions, trainCrf } from './slm/tagger.js';

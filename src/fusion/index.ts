export { demonstrationsFromRetriever } from './demonstrations.js';
export {
  applyPlan,
  type DecisionCounts,
  type DecisionKind,
  type DecisionKindCounts,
  entitiesFromSpans,
  type FuseResult,
  type FusionCase,
  type FusionDecision,
  type FusionPlan,
  fuseCase,
  llmScore,
  planFusion,
  slmConfidence,
} from './fuse.js';
export {
  buildInlineMessages,
  type Demonstration,
  type DemonstrationSource,
  type InlineEntity,
  type InlineParse,
  markInline,
  parseInlineOutput,
  runInlineTagging,
} from './inline-tagging.js';
export { evaluateLambda, type LambdaSearchResult, lambdaThresholds, searchLambda } from './lambda.js';
export {
  chunkTokens,
  createFusion,
  type DocumentAnalysis,
  type Fusion,
  type FusionEvalOptions,
  type FusionOptions,
  type FusionReport,
  type FusionResult,
  type FusionStats,
  fusionEval,
} from './pipeline.js';
export {
  entityProbability,
  locateTokens,
  outsideProbability,
  type ProbabilityKind,
} from './probabilities.js';
export type { SlmLike, SlmTagging } from './slm.js';

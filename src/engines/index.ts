/** The engine layer's public surface (the llama-cpp engine is loaded lazily by the kinds registry). */
export { chatCacheKey, embedCacheKey, normaliseChatRequest, ResponseCache } from './cache.js';
export { type CostEntry, CostLedger, type CostSummary, type Totals } from './cost.js';
export { EngineError } from './errors.js';
export { buildEngine, ENGINE_KINDS } from './kinds.js';
export {
  buildChatBody,
  defaultRetryPolicy,
  detectServer,
  mapLogprobs,
  OpenAIEngine,
  type OpenAIEngineOptions,
  parseRetryAfter,
  type RetryPolicy,
  type ServerKind,
} from './openai.js';
export { createEngines, type EngineSet, useCache, type WrapDeps, wrapEngine } from './registry.js';
export * from './types.js';

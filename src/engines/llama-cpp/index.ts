export { LlamaCppEngine, type LlamaCppEngineOptions } from './engine.js';
export { defaultModelCacheDir, isRemoteModelUri, resolveModelPath } from './model-file.js';
export { disposeIdleRuntimes } from './runtime.js';
export { modelLoadCounts } from './shared-models.js';

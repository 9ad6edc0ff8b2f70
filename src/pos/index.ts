export { alignTokens } from './align.js';
export { cjkSpanPos, compactCjk, isCjkText } from './cjk.js';
export { type PosOf, type SpanLike, spanPos, spanPosFromTokens, spansPos } from './span-pos.js';
export { loadPosTagger, type PosTagger, posTag, tagCjk } from './tagger.js';
export { asUpos, type PosToken, UPOS_TAGS, type Upos, uposCode, uposFromCode } from './upos.js';
export {
  isWeightPresetName,
  type PosWeights,
  posWeight,
  resolveWeights,
  WEIGHT_PRESETS,
  type WeightPresetName,
} from './weights.js';

/**
 * POS weights for SpanSim. EL4NER weights each query span by the part of speech of the span
 * (proper nouns matter most for NER). The default gives proper nouns the most weight
 * (PROPN=4, NOUN=2, PRON=1, as in a public reimplementation that weights the span's first word);
 * `paper-rank` is the literal {PROPN:1, NOUN:2, PRON:4} of the paper summaries, kept so both
 * readings can be measured; `uniform` switches weighting off (ablation).
 */
import type { Upos } from './upos.js';

export interface PosWeights {
  PROPN: number;
  NOUN: number;
  PRON: number;
  /** Every other tag (ADJ, NUM, X, ...). */
  other: number;
}

export const WEIGHT_PRESETS = {
  default: { PROPN: 4, NOUN: 2, PRON: 1, other: 1 },
  'paper-rank': { PROPN: 1, NOUN: 2, PRON: 4, other: 1 },
  uniform: { PROPN: 1, NOUN: 1, PRON: 1, other: 1 },
} as const satisfies Record<string, PosWeights>;

export type WeightPresetName = keyof typeof WEIGHT_PRESETS;

export function resolveWeights(w: WeightPresetName | PosWeights | undefined): PosWeights {
  if (w === undefined) return { ...WEIGHT_PRESETS.default };
  if (typeof w === 'string') {
    const p = WEIGHT_PRESETS[w];
    if (!p)
      throw new Error(`unknown weight scheme '${w}' (known: ${Object.keys(WEIGHT_PRESETS).join(', ')})`);
    return { ...p };
  }
  for (const k of ['PROPN', 'NOUN', 'PRON', 'other'] as const) {
    if (!Number.isFinite(w[k]) || w[k] < 0) throw new Error(`weight ${k} must be a finite number >= 0`);
  }
  return { ...w };
}

export function posWeight(pos: Upos | string | undefined, w: PosWeights): number {
  if (pos === 'PROPN') return w.PROPN;
  if (pos === 'NOUN') return w.NOUN;
  if (pos === 'PRON') return w.PRON;
  return w.other;
}

export function isWeightPresetName(s: string): s is WeightPresetName {
  return Object.hasOwn(WEIGHT_PRESETS, s);
}

/** The union of the spans several models proposed (the recall stage of EL4NER). */
import type { Span } from '../../core/types.js';

export interface UnionSpan extends Span {
  /** Models that proposed the span, in the given model order. */
  proposers: string[];
}

/** Union of the spans of several models, sorted by offsets, each with the models that proposed it. */
export function unionSpans(perModel: ReadonlyArray<{ model: string; spans: readonly Span[] }>): UnionSpan[] {
  const byKey = new Map<string, UnionSpan>();
  for (const { model, spans } of perModel) {
    for (const s of spans) {
      const key = `${s.start}:${s.end}`;
      let u = byKey.get(key);
      if (!u) {
        u = { start: s.start, end: s.end, text: s.text, proposers: [] };
        byKey.set(key, u);
      }
      if (!u.proposers.includes(model)) u.proposers.push(model);
    }
  }
  return [...byKey.values()].sort((a, b) => a.start - b.start || a.end - b.end);
}

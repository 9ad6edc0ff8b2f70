/**
 * The probability that a tagger tags a token span as exactly one entity of a type: its tags spell
 * the span in the tagger's scheme (`B-X I-X ...`, `B-X ... E-X`, `S-X`) and the next token does
 * not continue it. The CRF computes it exactly from its forward-backward pass
 * (CrfTagger.spanProbabilities); a token classifier, whose tokens are independent given the
 * text, multiplies its per-token distributions (`independentSpanProbabilities`). 1 minus the sum
 * over the types is the probability that the span is not an entity as a whole. The EL4NER SLM
 * voter spreads its soft vote by these probabilities.
 */
import { tagsFromSpans } from '../core/tags.js';
import type { TagScheme } from '../core/types.js';

/** A span of token indices, `end` exclusive. */
export interface TokenRange {
  start: number;
  end: number;
}

/** The entity types of a tag set (`B-PER`, `I-PER`, ... -> `PER`), in first-seen order. */
export function entityTypes(labels: readonly string[]): string[] {
  return [...new Set(labels.filter((l) => l !== 'O' && l.length > 2).map((l) => l.slice(2)))];
}

/**
 * The label ids that spell one entity of `type` over `length` tokens, and the ids that would
 * continue it on the next token; undefined when the tag set lacks a tag the path needs.
 */
export function entityPath(
  type: string,
  length: number,
  scheme: TagScheme,
  labelId: ReadonlyMap<string, number>,
): { path: number[]; continues: Set<number> } | undefined {
  const path = tagsFromSpans(length, [{ start: 0, end: length, type }], scheme).map(
    (t) => labelId.get(t) ?? -1,
  );
  if (path.some((i) => i < 0)) return undefined;
  const continues = new Set(['I', 'M', 'E'].flatMap((prefix) => labelId.get(`${prefix}-${type}`) ?? []));
  return { path, continues };
}

/**
 * Span probabilities from independent per-token distributions over `labels` (a token classifier's
 * softmax): the product of the path's token probabilities, times the probability that the next
 * token does not continue the entity.
 */
export function independentSpanProbabilities(
  labels: readonly string[],
  scheme: TagScheme,
  marginals: readonly ArrayLike<number>[],
  spans: readonly TokenRange[],
): Array<Record<string, number>> {
  const labelId = new Map(labels.map((l, i) => [l, i]));
  const types = entityTypes(labels);
  return spans.map(({ start, end }) => {
    const out: Record<string, number> = {};
    if (start < 0 || end > marginals.length || end <= start) return out;
    for (const type of types) {
      const spelled = entityPath(type, end - start, scheme, labelId);
      if (!spelled) continue;
      let p = 1;
      spelled.path.forEach((id, i) => {
        p *= marginals[start + i][id];
      });
      if (end < marginals.length) {
        let next = 0;
        for (const id of spelled.continues) next += marginals[end][id];
        p *= Math.max(0, 1 - next);
      }
      out[type] = p;
    }
    return out;
  });
}

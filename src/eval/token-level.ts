/**
 * Token-level scores over entity types (the "O" label excluded), macro averaged, as reported by
 * the SLM+LLM fusion paper (Xu, Dang, Huang 2025) with scikit-learn over BIO-less token labels.
 *
 * Each token takes the type of every entity that overlaps at least one of its characters.
 * Tokens come from the gold document (`tokens` when present, else `tokenize(text)`), so gold
 * and prediction are labelled on the same tokens. Per type T: tp = tokens labelled T on both
 * sides, fp = labelled T only in the prediction, fn = only in the gold. With at most one entity
 * per token (flat data) this is exactly scikit-learn's per-label count; with nested entities a
 * token counts for each type covering it. Counts are summed over the corpus per type, then
 * P, R and F1 are averaged over the types that label at least one token on either side.
 */
import { tokenize } from '../core/tokenize.js';
import type { Entity, NerDocument, Token } from '../core/types.js';
import type { Counts } from './prf.js';

export function documentTokens(doc: NerDocument): Token[] {
  if (Array.isArray(doc.tokens) && doc.tokens.length > 0 && typeof doc.tokens[0] === 'object')
    return doc.tokens;
  return tokenize(doc.text);
}

/** The set of token indices each type covers. */
function tokenLabels(tokens: readonly Token[], entities: readonly Entity[]): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const e of entities) {
    let s = out.get(e.type);
    if (!s) {
      s = new Set();
      out.set(e.type, s);
    }
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i].start < e.end && e.start < tokens[i].end) s.add(i);
    }
  }
  return out;
}

/** Adds one document's token counts per type into `into`. */
export function addTokenCounts(
  into: Map<string, Counts>,
  tokens: readonly Token[],
  gold: readonly Entity[],
  pred: readonly Entity[],
): void {
  const g = tokenLabels(tokens, gold);
  const p = tokenLabels(tokens, pred);
  for (const type of new Set([...g.keys(), ...p.keys()])) {
    const gs = g.get(type) ?? new Set<number>();
    const ps = p.get(type) ?? new Set<number>();
    let tp = 0;
    for (const i of ps) if (gs.has(i)) tp++;
    const c = into.get(type) ?? { tp: 0, fp: 0, fn: 0 };
    c.tp += tp;
    c.fp += ps.size - tp;
    c.fn += gs.size - tp;
    into.set(type, c);
  }
}

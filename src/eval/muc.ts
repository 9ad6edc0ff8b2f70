/**
 * MUC / SemEval-2013 (task 9.1) error categories, with the four schemas of the `nervaluate`
 * package. Unlike nervaluate, matching is one-to-one, so every entity lands in exactly one
 * category and strict P/R here equal the strict micro P/R:
 *
 * 1. correct: a prediction with the same span and type as a gold entity;
 * 2. incorrect: same span, other type (remaining entities; ties broken by type name);
 * 3. partial: the spans overlap without being equal. Remaining pairs are matched greedily,
 *    largest overlap (in UTF-16 code units) first, then same type first, then by position;
 * 4. spurious: a prediction left unmatched; missed: a gold entity left unmatched.
 *
 * Both sides are deduplicated first (same span and type counts once).
 */
import type { Entity } from '../core/types.js';
import { f1Of, ratio } from './prf.js';

export interface MucCounts {
  correct: number;
  incorrect: number;
  /** Overlapping boundaries, any type. */
  partial: number;
  /** The part of `partial` where the types agree. */
  partial_same_type: number;
  missed: number;
  spurious: number;
}

export interface SchemaScore {
  correct: number;
  incorrect: number;
  partial: number;
  missed: number;
  spurious: number;
  /** Gold entities: correct + incorrect + partial + missed. */
  possible: number;
  /** Predicted entities: correct + incorrect + partial + spurious. */
  actual: number;
  p: number;
  r: number;
  f1: number;
}

export type SchemaName = 'strict' | 'exact' | 'partial' | 'type';

export function zeroMuc(): MucCounts {
  return { correct: 0, incorrect: 0, partial: 0, partial_same_type: 0, missed: 0, spurious: 0 };
}

export function addMuc(into: MucCounts, c: MucCounts): MucCounts {
  into.correct += c.correct;
  into.incorrect += c.incorrect;
  into.partial += c.partial;
  into.partial_same_type += c.partial_same_type;
  into.missed += c.missed;
  into.spurious += c.spurious;
  return into;
}

const byPosition = (a: Entity, b: Entity) =>
  a.start - b.start || a.end - b.end || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0);

/** Categorizes one document. Both lists must already be deduplicated. */
export function mucDocument(gold: readonly Entity[], pred: readonly Entity[]): MucCounts {
  const g = [...gold].sort(byPosition);
  const p = [...pred].sort(byPosition);
  const goldUsed = new Array<boolean>(g.length).fill(false);
  const predUsed = new Array<boolean>(p.length).fill(false);
  const c = zeroMuc();

  const sameSpan = (a: Entity, b: Entity) => a.start === b.start && a.end === b.end;
  // 1. exact span and type
  for (let j = 0; j < p.length; j++) {
    const i = g.findIndex((x, k) => !goldUsed[k] && sameSpan(x, p[j]) && x.type === p[j].type);
    if (i >= 0) {
      goldUsed[i] = predUsed[j] = true;
      c.correct++;
    }
  }
  // 2. exact span, other type
  for (let j = 0; j < p.length; j++) {
    if (predUsed[j]) continue;
    const i = g.findIndex((x, k) => !goldUsed[k] && sameSpan(x, p[j]));
    if (i >= 0) {
      goldUsed[i] = predUsed[j] = true;
      c.incorrect++;
    }
  }
  // 3. overlap, greedy by overlap length
  const candidates: { i: number; j: number; overlap: number; sameType: boolean }[] = [];
  for (let i = 0; i < g.length; i++) {
    if (goldUsed[i]) continue;
    for (let j = 0; j < p.length; j++) {
      if (predUsed[j]) continue;
      const overlap = Math.min(g[i].end, p[j].end) - Math.max(g[i].start, p[j].start);
      if (overlap > 0) candidates.push({ i, j, overlap, sameType: g[i].type === p[j].type });
    }
  }
  candidates.sort(
    (a, b) => b.overlap - a.overlap || Number(b.sameType) - Number(a.sameType) || a.i - b.i || a.j - b.j,
  );
  for (const m of candidates) {
    if (goldUsed[m.i] || predUsed[m.j]) continue;
    goldUsed[m.i] = predUsed[m.j] = true;
    c.partial++;
    if (m.sameType) c.partial_same_type++;
  }
  // 4. leftovers
  c.missed = goldUsed.filter((u) => !u).length;
  c.spurious = predUsed.filter((u) => !u).length;
  return c;
}

function score(correct: number, incorrect: number, partial: number, c: MucCounts): SchemaScore {
  const possible = correct + incorrect + partial + c.missed;
  const actual = correct + incorrect + partial + c.spurious;
  // nervaluate: exact and strict give partial matches no credit; partial and type give half (partial is 0 there).
  const p = ratio(correct + 0.5 * partial, actual);
  const r = ratio(correct + 0.5 * partial, possible);
  return {
    correct,
    incorrect,
    partial,
    missed: c.missed,
    spurious: c.spurious,
    possible,
    actual,
    p,
    r,
    f1: f1Of(p, r),
  };
}

/**
 * The nervaluate schemas:
 * - strict: exact boundaries and type;
 * - exact: exact boundaries, type ignored;
 * - partial: overlapping boundaries get half credit, type ignored;
 * - type: some overlap and the same type (SemEval "type" / nervaluate "ent_type").
 */
export function mucSchemas(c: MucCounts): Record<SchemaName, SchemaScore> {
  const partialOtherType = c.partial - c.partial_same_type;
  return {
    strict: score(c.correct, c.incorrect + c.partial, 0, c),
    exact: score(c.correct + c.incorrect, c.partial, 0, c),
    partial: score(c.correct + c.incorrect, 0, c.partial, c),
    type: score(c.correct + c.partial_same_type, c.incorrect + partialOtherType, 0, c),
  };
}

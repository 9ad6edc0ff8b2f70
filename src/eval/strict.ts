/**
 * Exact-match span scoring: an entity is a true positive when the other side has one with the
 * same start, end and type. Both sides are sets: an entity listed twice (same span and type)
 * counts once. Nested and overlapping spans are independent entities.
 */
import type { Entity } from '../core/types.js';
import { type Counts, zeroCounts } from './prf.js';

export interface DocumentCounts {
  /** Per entity type. */
  byType: Map<string, Counts>;
  /** All types together (the micro counts of this document). */
  total: Counts;
  /** Boundaries only, type ignored. */
  span: Counts;
}

/** Removes entities repeated with the same span and type, keeping the first. */
export function uniqueEntities(entities: readonly Entity[]): Entity[] {
  const seen = new Set<string>();
  const out: Entity[] = [];
  for (const e of entities) {
    const k = `${e.start}:${e.end}:${e.type}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(e);
  }
  return out;
}

function countSets(gold: Set<string>, pred: Set<string>): Counts {
  let tp = 0;
  for (const k of pred) if (gold.has(k)) tp++;
  return { tp, fp: pred.size - tp, fn: gold.size - tp };
}

export function countDocument(gold: readonly Entity[], pred: readonly Entity[]): DocumentCounts {
  const goldByType = new Map<string, Set<string>>();
  const predByType = new Map<string, Set<string>>();
  const add = (m: Map<string, Set<string>>, e: Entity) => {
    let s = m.get(e.type);
    if (!s) {
      s = new Set();
      m.set(e.type, s);
    }
    s.add(`${e.start}:${e.end}`);
  };
  for (const e of gold) add(goldByType, e);
  for (const e of pred) add(predByType, e);

  const byType = new Map<string, Counts>();
  const total = zeroCounts();
  for (const type of new Set([...goldByType.keys(), ...predByType.keys()])) {
    const c = countSets(goldByType.get(type) ?? new Set(), predByType.get(type) ?? new Set());
    byType.set(type, c);
    total.tp += c.tp;
    total.fp += c.fp;
    total.fn += c.fn;
  }
  const span = countSets(
    new Set(gold.map((e) => `${e.start}:${e.end}`)),
    new Set(pred.map((e) => `${e.start}:${e.end}`)),
  );
  return { byType, total, span };
}

/** Strict counts of each document (gold and predicted in the same order). */
export function perDocumentCounts(
  gold: ReadonlyArray<{ entities: readonly Entity[] }>,
  pred: ReadonlyArray<{ entities: readonly Entity[] }>,
): Counts[] {
  return gold.map((g, i) => {
    const { tp, fp, fn } = countDocument(g.entities, pred[i]?.entities ?? []).total;
    return { tp, fp, fn };
  });
}

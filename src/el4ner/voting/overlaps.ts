/**
 * Overlapping entities on flat label sets (CoNLL-style data, where no entity lies inside
 * another): the best-scored span wins and the spans overlapping it go, then the next best of
 * what is left, and so on. Ties: the longer span, then the earlier one. Nested data (GENIA,
 * LitBank) keeps every span.
 */
import type { Entity } from '../../core/types.js';

export type OverlapPolicy = 'flat' | 'nested';

const overlap = (a: Entity, b: Entity) => a.start < b.end && b.start < a.end;

function better(a: Entity, b: Entity): number {
  return (
    (b.score ?? 0) - (a.score ?? 0) ||
    b.end - b.start - (a.end - a.start) ||
    a.start - b.start ||
    (a.type < b.type ? -1 : a.type > b.type ? 1 : 0)
  );
}

/** The entities kept under the policy (input order kept). */
export function resolveOverlaps<T extends Entity>(entities: readonly T[], policy: OverlapPolicy): T[] {
  if (policy === 'nested' || entities.length < 2) return [...entities];
  const kept: T[] = [];
  for (const e of [...entities].sort(better)) if (!kept.some((k) => overlap(k, e))) kept.push(e);
  const keep = new Set(kept);
  return entities.filter((e) => keep.has(e));
}

/** Whether any two entities of one document overlap (the data's own nature: nested or flat). */
export function hasOverlaps(entities: readonly Entity[]): boolean {
  const s = [...entities].sort((a, b) => a.start - b.start || b.end - a.end);
  let end = Number.NEGATIVE_INFINITY;
  for (const e of s) {
    if (e.start < end) return true;
    end = Math.max(end, e.end);
  }
  return false;
}

/** Marks each entity against gold: correct, wrong type, spurious; and the gold entities that were missed. */
import type { Entity } from '../core/types.js';

export type EntityStatus = 'correct' | 'wrong-type' | 'spurious' | 'missed' | 'predicted';

export interface MarkedEntity extends Entity {
  status: EntityStatus;
  /** For wrong-type: the gold type(s) of the same span. */
  goldType?: string;
}

export function markEntities(pred: readonly Entity[], gold?: readonly Entity[]): MarkedEntity[] {
  if (!gold) return pred.map((e) => ({ ...e, status: 'predicted' }));
  const goldBySpan = new Map<string, Entity[]>();
  for (const g of gold) {
    const k = `${g.start}:${g.end}`;
    if (!goldBySpan.has(k)) goldBySpan.set(k, []);
    goldBySpan.get(k)!.push(g);
  }
  const matchedGold = new Set<Entity>();
  const out: MarkedEntity[] = [];
  for (const p of pred) {
    const same = goldBySpan.get(`${p.start}:${p.end}`) ?? [];
    const exact = same.find((g) => g.type === p.type);
    if (exact) {
      matchedGold.add(exact);
      out.push({ ...p, status: 'correct' });
    } else if (same.length) {
      for (const g of same) matchedGold.add(g);
      out.push({ ...p, status: 'wrong-type', goldType: same.map((g) => g.type).join('/') });
    } else out.push({ ...p, status: 'spurious' });
  }
  for (const g of gold) if (!matchedGold.has(g)) out.push({ ...g, status: 'missed' });
  return out;
}

/** Gold type x predicted type counts over spans; 'O' stands for no entity on that span. */
export function confusionMatrix(pairs: { pred: readonly Entity[]; gold: readonly Entity[] }[]): {
  types: string[];
  counts: Record<string, Record<string, number>>;
} {
  const counts: Record<string, Record<string, number>> = {};
  const types = new Set<string>();
  const add = (g: string, p: string) => {
    types.add(g);
    types.add(p);
    counts[g] ??= {};
    counts[g][p] = (counts[g][p] ?? 0) + 1;
  };
  for (const { pred, gold } of pairs) {
    const predBySpan = new Map<string, Set<string>>();
    for (const p of pred) {
      const k = `${p.start}:${p.end}`;
      if (!predBySpan.has(k)) predBySpan.set(k, new Set());
      predBySpan.get(k)!.add(p.type);
    }
    const goldBySpan = new Map<string, Set<string>>();
    for (const g of gold) {
      const k = `${g.start}:${g.end}`;
      if (!goldBySpan.has(k)) goldBySpan.set(k, new Set());
      goldBySpan.get(k)!.add(g.type);
    }
    for (const [k, gts] of goldBySpan) {
      const pts = predBySpan.get(k);
      for (const g of gts) {
        if (!pts) add(g, 'O');
        else if (pts.has(g)) add(g, g);
        else add(g, [...pts].sort()[0]);
      }
    }
    for (const [k, pts] of predBySpan) {
      if (goldBySpan.has(k)) continue;
      for (const p of pts) add('O', p);
    }
  }
  const sorted = [...types].filter((t) => t !== 'O').sort();
  return { types: [...sorted, 'O'], counts };
}

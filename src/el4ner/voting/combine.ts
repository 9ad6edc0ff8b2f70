/**
 * Combining the entities of several finished NER systems (`el4ner ensemble`): union, plain vote,
 * span vote then type. The plain majority vote here is also the baseline every ensemble rule of
 * the pipeline is measured against.
 */
import type { Entity, SourceVote } from '../../core/types.js';
import { compareEntities, NONE_TYPE } from '../../core/types.js';
import { decideType, type Vote, type WeightFn } from './decide.js';
import { type OverlapPolicy, resolveOverlaps } from './overlaps.js';

export type EnsembleStrategy = 'union' | 'vote' | 'span-vote-then-type';

export interface SystemPrediction {
  name: string;
  entities: readonly Entity[];
}

export interface CombineOptions {
  strategy: EnsembleStrategy;
  /** Weight threshold; default: more than half of the total system weight (union: 1 system). */
  minVotes?: number;
  /** One weight per system (same order); default 1 each. */
  weights?: readonly number[];
  /**
   * flat: of overlapping entities the one with the most votes is kept (ties: the type the system
   * listed first gave, then the longer span), as the pipeline does; nested (the default here,
   * where one text cannot tell the data's nature): all are kept.
   */
  overlaps?: OverlapPolicy;
}

/**
 * Combines the entities several NER systems found in one text.
 * - union: every distinct (span, type) any system found;
 * - vote: per span, every system votes its type or `none`; the best type is kept when its weight
 *   reaches `minVotes` (default: a strict majority of the total weight);
 * - span-vote-then-type: a span is kept when the systems proposing it (any type) reach `minVotes`;
 *   its type is the plurality among them (ties: the system listed first).
 */
export function combineSystems(
  text: string,
  systems: readonly SystemPrediction[],
  opts: CombineOptions,
): Entity[] {
  const names = systems.map((s) => s.name);
  const weightOf = new Map(names.map((n, i) => [n, opts.weights?.[i] ?? 1]));
  const weight: WeightFn = (voter) => weightOf.get(voter) ?? 1;
  const totalWeight = names.reduce((a, n) => a + weight(n, ''), 0);
  const threshold = opts.minVotes ?? (opts.strategy === 'union' ? 0 : totalWeight / 2 + 1e-9);
  // span key -> system -> types
  const spans = new Map<string, { start: number; end: number; types: Map<string, string[]> }>();
  for (const sys of systems) {
    for (const e of sys.entities) {
      const key = `${e.start}:${e.end}`;
      let s = spans.get(key);
      if (!s) {
        s = { start: e.start, end: e.end, types: new Map() };
        spans.set(key, s);
      }
      const list = s.types.get(sys.name) ?? [];
      if (!list.includes(e.type)) list.push(e.type);
      s.types.set(sys.name, list);
    }
  }
  const out: Entity[] = [];
  const make = (start: number, end: number, type: string, score: number, sources: SourceVote[]): Entity => ({
    start,
    end,
    type,
    text: text.slice(start, end),
    score,
    sources,
  });
  for (const s of spans.values()) {
    const sourcesFor = (chosen?: string) =>
      names.map((n) => {
        const types = s.types.get(n);
        const t = types ? (chosen !== undefined && types.includes(chosen) ? chosen : types[0]) : NONE_TYPE;
        return { model: n, stage: 'ensemble', type: t } satisfies SourceVote;
      });
    if (opts.strategy === 'union') {
      const types = new Map<string, string[]>();
      for (const n of names) for (const t of s.types.get(n) ?? []) types.set(t, [...(types.get(t) ?? []), n]);
      for (const [t, voters] of types) {
        const w = voters.reduce((a, v) => a + weight(v, t), 0);
        if (w < threshold) continue;
        out.push(make(s.start, s.end, t, totalWeight ? w / totalWeight : 0, sourcesFor(t)));
      }
      continue;
    }
    const proposers = names.filter((n) => s.types.has(n));
    if (opts.strategy === 'vote') {
      const votes: Vote[] = names.map((n) => ({ voter: n, type: s.types.get(n)?.[0] ?? NONE_TYPE }));
      // A system giving several types to one span votes for each of them.
      for (const n of names)
        for (const t of (s.types.get(n) ?? []).slice(1)) votes.push({ voter: n, type: t });
      const d = decideType(votes, { weight, voterOrder: names, minWeight: threshold });
      if (d.type !== undefined) {
        const w = d.tally.get(d.type)!;
        out.push(make(s.start, s.end, d.type, totalWeight ? w / totalWeight : 0, sourcesFor(d.type)));
      }
      continue;
    }
    const spanWeight = proposers.reduce((a, n) => a + weight(n, ''), 0);
    if (spanWeight < threshold) continue;
    const votes: Vote[] = proposers.flatMap((n) =>
      (s.types.get(n) ?? []).map((t) => ({ voter: n, type: t })),
    );
    const d = decideType(votes, { weight, voterOrder: names, minWeight: 0 });
    if (d.type !== undefined) {
      out.push(make(s.start, s.end, d.type, totalWeight ? spanWeight / totalWeight : 0, sourcesFor(d.type)));
    }
  }
  return resolveOverlaps(out, opts.overlaps ?? 'nested', names).sort(compareEntities);
}

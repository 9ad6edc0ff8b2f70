/**
 * Union and voting, shared by the EL4NER pipeline and `el4ner ensemble`.
 *
 * Hard voting (`decideType`): every voter gives one type for a span, `none` being a type like the
 * others. Each type collects the weight of its voters (1 each, or `voteWeights` in weighted mode).
 * - The winning entity type is the non-`none` type with the most weight. Two entity types tied at
 *   the top: the one chosen by the voter listed first (backbone order in the config) wins.
 * - It is kept only when its weight is strictly greater than the weight of `none`. A tie between
 *   the best type and `none` drops the span: classification is the precision stage.
 * - `minWeight`, when given, replaces the comparison with `none` by an absolute threshold
 *   (used by `el4ner ensemble --min-votes`).
 * The entity's score is the vote share: winner weight / total weight of the voters who answered.
 */
import type { Entity, SourceVote, Span } from '../core/types.js';
import { compareEntities, NONE_TYPE } from '../core/types.js';

export interface Vote {
  voter: string;
  /** A label or 'none'. */
  type: string;
}

export type WeightFn = (voter: string, type: string) => number;

export const unitWeight: WeightFn = () => 1;

/** Vote weights from config `voteWeights`: {model: number | {TYPE: number}}; missing entries weigh 1. */
export function weightsFromConfig(
  voteWeights: Record<string, number | Record<string, number>> | undefined,
): WeightFn {
  if (!voteWeights) return unitWeight;
  return (voter, type) => {
    const w = voteWeights[voter];
    if (w === undefined) return 1;
    if (typeof w === 'number') return w;
    return w[type] ?? w['*'] ?? 1;
  };
}

export interface VoteDecision {
  /** The winning type, or undefined when the span is dropped. */
  type: string | undefined;
  /** Winner weight / total weight (0 when dropped). */
  score: number;
  tally: Map<string, number>;
  total: number;
}

export interface DecideOptions {
  weight?: WeightFn;
  /** Voter order for tie breaks (earlier wins); voters not listed come after, by name. */
  voterOrder?: readonly string[];
  /** Keep the winner when its weight reaches this, instead of requiring it to beat 'none'. */
  minWeight?: number;
}

export function decideType(votes: readonly Vote[], opts: DecideOptions = {}): VoteDecision {
  const weight = opts.weight ?? unitWeight;
  const order = opts.voterOrder ?? [];
  const rank = (v: string) => {
    const i = order.indexOf(v);
    return i >= 0 ? i : order.length;
  };
  const tally = new Map<string, number>();
  const firstVoter = new Map<string, string>();
  let total = 0;
  for (const v of votes) {
    const w = weight(v.voter, v.type);
    total += w;
    tally.set(v.type, (tally.get(v.type) ?? 0) + w);
    const cur = firstVoter.get(v.type);
    if (cur === undefined || rank(v.voter) < rank(cur) || (rank(v.voter) === rank(cur) && v.voter < cur))
      firstVoter.set(v.type, v.voter);
  }
  let best: string | undefined;
  for (const [type, w] of tally) {
    if (type === NONE_TYPE) continue;
    if (best === undefined) {
      best = type;
      continue;
    }
    const bw = tally.get(best)!;
    if (w > bw) best = type;
    else if (w === bw) {
      const a = firstVoter.get(type)!;
      const b = firstVoter.get(best)!;
      if (rank(a) < rank(b) || (rank(a) === rank(b) && (a < b || (a === b && type < best)))) best = type;
    }
  }
  if (best === undefined) return { type: undefined, score: 0, tally, total };
  const bw = tally.get(best)!;
  const keep = opts.minWeight !== undefined ? bw >= opts.minWeight : bw > (tally.get(NONE_TYPE) ?? 0);
  if (!keep || bw <= 0) return { type: undefined, score: 0, tally, total };
  return { type: best, score: total > 0 ? bw / total : 0, tally, total };
}

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
  return out.sort(compareEntities);
}

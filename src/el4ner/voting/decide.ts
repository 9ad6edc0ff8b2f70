/**
 * The paper's hard vote, shared by the EL4NER pipeline (rule 'hard-vote') and `el4ner ensemble`.
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
 * A soft vote (with `probs`) spreads its weight over the types by its probabilities.
 */
import { NONE_TYPE } from '../../core/types.js';

export interface Vote {
  voter: string;
  /** A label or 'none': what the voter answered. */
  type: string;
  /**
   * Soft vote (config `decision.votes: soft`): the voter's probability of each label and of
   * 'none' for this span, read from its token logprobs. Without it the vote puts all its weight
   * on `type`.
   */
  probs?: Readonly<Record<string, number>>;
}

/** What a vote gives each type: its probabilities when it has them, else all of it to its type. */
export function voteMass(v: Vote): Array<[string, number]> {
  return v.probs ? Object.entries(v.probs) : [[v.type, 1]];
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
    for (const [type, p] of voteMass(v)) {
      const w = weight(v.voter, type) * p;
      total += w;
      tally.set(type, (tally.get(type) ?? 0) + w);
    }
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

/**
 * The decision rules of the classification stage, by name: how the votes of the classifiers on
 * one candidate span become an entity (or nothing). A new rule is one entry in VOTING_RULES plus
 * its test; config `decision.rule` picks it.
 *
 * Every rule sees the votes that were cast (a label or 'none' per voter) and the voters that
 * were asked; a voter asked but absent from the votes abstained (its call failed, it answered
 * nothing for this span, or its type maps to no label).
 */
import { NONE_TYPE } from '../../core/types.js';
import { decideType, type Vote, voteMass, type WeightFn } from './decide.js';

export type { Vote, WeightFn } from './decide.js';
export { unitWeight, weightsFromConfig } from './decide.js';

export interface DecisionInput {
  votes: readonly Vote[];
  /** Every voter asked to type this span, in tie-break order (earlier wins). */
  voters: readonly string[];
  weight: WeightFn;
}

export interface Decision {
  /** The entity type, or undefined when the span is dropped. */
  type?: string;
  /** Confidence in [0, 1] from the votes. */
  score: number;
  /**
   * How clear the vote was, in [-1, 1]: the weight for the decision minus the weight of its
   * strongest alternative, over the weight that counted (1: unanimous). Selective verification
   * asks the verifier about the entities whose margin is below its threshold.
   */
  margin: number;
}

export interface VotingRule {
  readonly name: string;
  decide(input: DecisionInput): Decision;
}

export interface RuleSettings {
  /**
   * entity-then-type: share of the answering weight that must say "entity" (strictly more than);
   * type-vote: share of the asked voters' weight the plurality type must have (strictly more than).
   */
  threshold: number;
  /**
   * entity-then-type: share of the asked voters' weight that must have answered for abstentions
   * to be left out; below it, abstentions count as 'none' (so one lone vote cannot make an entity
   * when the others failed).
   */
  quorum: number;
}

/** What `votingRule` fills in for a setting it is not given; a config's defaults are DEFAULT_DECISION. */
export const DEFAULT_RULE_SETTINGS: RuleSettings = { threshold: 0, quorum: 0.5 };

/** How a classifier's answer counts: one vote for its type, or its probabilities (token logprobs). */
export const VOTE_KINDS = ['hard', 'soft'] as const;
export type VoteKind = (typeof VOTE_KINDS)[number];

/**
 * The defaults of config `decision` and `verification` (docs/decisions.md gives the measurements
 * behind them). The paper's setting is `rule: hard-vote` with `verification.policy: all`.
 */
export const DEFAULT_DECISION = {
  rule: 'type-vote',
  threshold: 0.2,
  quorum: DEFAULT_RULE_SETTINGS.quorum,
  votes: 'soft',
} as const satisfies { rule: VotingRuleName; votes: VoteKind } & RuleSettings;

export const DEFAULT_VERIFICATION = { policy: 'selective', margin: 0, use: 'veto' } as const satisfies {
  policy: 'all' | 'selective' | 'off';
  margin: number;
  use: 'veto' | 'feature';
};

/** The paper's hard vote: 'none' is a type like the others; the best type must beat it. */
function hardVote(): VotingRule {
  return {
    name: 'hard-vote',
    decide: ({ votes, voters, weight }) => {
      const d = decideType(votes, { weight, voterOrder: voters });
      if (d.type === undefined) return { score: 0, margin: 0 };
      const winner = d.tally.get(d.type)!;
      const rival = Math.max(0, ...[...d.tally].filter(([t]) => t !== d.type).map(([, w]) => w));
      return { type: d.type, score: d.score, margin: d.total > 0 ? (winner - rival) / d.total : 0 };
    },
  };
}

/**
 * First "is it an entity" (every label vote counts for entity, 'none' against), by weight share
 * against `threshold` with the quorum rule for abstentions; then "which type", by plurality among
 * the entity votes (ties: the voter listed first). Score: the entity share times the winning
 * type's share of the entity votes. Margin: entity share minus the share against it.
 */
function entityThenType(settings: RuleSettings): VotingRule {
  return {
    name: 'entity-then-type',
    decide: ({ votes, voters, weight }) => {
      let entityW = 0;
      let noneW = 0;
      const answered = new Set<string>();
      for (const v of votes) {
        answered.add(v.voter);
        for (const [type, p] of voteMass(v)) {
          const w = weight(v.voter, type) * p;
          if (type === NONE_TYPE) noneW += w;
          else entityW += w;
        }
      }
      const askedW = voters.reduce((a, v) => a + weight(v, NONE_TYPE), 0);
      const answeredW = entityW + noneW;
      const abstainW = voters.filter((v) => !answered.has(v)).reduce((a, v) => a + weight(v, NONE_TYPE), 0);
      const denominator =
        askedW > 0 && answeredW < settings.quorum * askedW ? answeredW + abstainW : answeredW;
      if (denominator <= 0) return { score: 0, margin: 0 };
      const entityShare = entityW / denominator;
      const margin = (entityW - (denominator - entityW)) / denominator;
      if (!(entityShare > settings.threshold)) return { score: 0, margin };
      // Every vote's entity mass counts here: a soft 'none' still gives its types their probabilities.
      const typed = decideType(votes, { weight, voterOrder: voters, minWeight: 0 });
      if (typed.type === undefined) return { score: 0, margin };
      const typeShare = typed.tally.get(typed.type)! / entityW;
      return { type: typed.type, score: entityShare * typeShare, margin };
    },
  };
}

/**
 * The plain vote of `el4ner ensemble --strategy vote` as a pipeline rule: the plurality type
 * among the label votes (ties: the voter listed first) is kept when its weight is more than
 * `threshold` of the weight of every voter asked (abstentions count against, like 'none'), so
 * with n voters, threshold (m - 0.5) / n keeps a type at least m of them gave. Score: that share.
 * Margin: the share for the type minus the share of everything else.
 */
function typeVote(settings: RuleSettings): VotingRule {
  return {
    name: 'type-vote',
    decide: ({ votes, voters, weight }) => {
      const askedW = voters.reduce((a, v) => a + weight(v, NONE_TYPE), 0);
      if (askedW <= 0) return { score: 0, margin: 0 };
      const typed = decideType(votes, { weight, voterOrder: voters, minWeight: 0 });
      if (typed.type === undefined) return { score: 0, margin: -1 };
      const share = typed.tally.get(typed.type)! / askedW;
      const margin = 2 * share - 1;
      if (!(share > settings.threshold)) return { score: 0, margin };
      return { type: typed.type, score: share, margin };
    },
  };
}

/** The registry: config `decision.rule` takes its names from here. */
export const VOTING_RULES = {
  'hard-vote': (_settings: RuleSettings) => hardVote(),
  'entity-then-type': (settings: RuleSettings) => entityThenType(settings),
  'type-vote': (settings: RuleSettings) => typeVote(settings),
} satisfies Record<string, (settings: RuleSettings) => VotingRule>;

export type VotingRuleName = keyof typeof VOTING_RULES;

export const VOTING_RULE_NAMES = Object.keys(VOTING_RULES) as [VotingRuleName, ...VotingRuleName[]];

export function votingRule(name: VotingRuleName, settings: Partial<RuleSettings> = {}): VotingRule {
  return VOTING_RULES[name]({ ...DEFAULT_RULE_SETTINGS, ...settings });
}

/**
 * What `el4ner tune` chooses (TuneSettings), how settings become a config (applySettings, and
 * applySettingsRaw for the file it writes), and the grids it searches.
 */
import { chatModels } from '../assemble/engines.js';
import type { Config } from '../config/schema.js';
import type { VoteKind, VotingRuleName } from '../el4ner/voting/rules.js';
import type { RawConfig } from './config-file.js';
import type { LambdaTuning } from './fusion-lambda.js';

export interface TuneSettings {
  backbones: string[];
  /** null: verification off. */
  verifier: string | null;
  k: number;
  /** Per-voter per-type weights for weighted voting; undefined: hard voting. */
  weights?: Record<string, Record<string, number>>;
  rule: VotingRuleName;
  /** entity-then-type: entity share needed; type-vote: the type's share of the voters. */
  threshold: number;
  /** soft: the classifiers' votes carry their probabilities (token logprobs). */
  votes: VoteKind;
  policy: 'all' | 'selective';
  margin: number;
  use: 'veto' | 'feature';
  /** Logistic weights of a calibrated score (config `decision.calibration`). */
  calibration?: Record<string, number>;
  minScore: number;
}

export const DEFAULT_K_VALUES = [0, 1, 2, 3, 5, 8, 12, 16] as const;

/** type-vote thresholds for n voters: (m - 0.5) / n keeps a type at least m of them gave. */
export function plainVoteThresholds(n: number): Array<{ rule: 'type-vote'; threshold: number }> {
  return Array.from({ length: n }, (_, i) => ({ rule: 'type-vote' as const, threshold: (i + 0.5) / n }));
}

/** The decision grid: the paper's hard vote, entity-then-type at these thresholds, the plain votes. */
export function decisionRules(voters: number): Array<{ rule: VotingRuleName; threshold: number }> {
  return [
    { rule: 'hard-vote', threshold: 0.5 },
    ...[0, 0.25, 0.5, 0.75].map((threshold) => ({ rule: 'entity-then-type' as const, threshold })),
    ...plainVoteThresholds(voters),
  ];
}

/**
 * The soft-vote grid: the mean probability of "entity" (entity-then-type) and of the best type
 * (type-vote) above these thresholds.
 */
export function softDecisionRules(): Array<{ rule: VotingRuleName; threshold: number }> {
  return [
    ...[0.5, 0.1, 0.2, 0.3, 0.4, 0.6].map((threshold) => ({ rule: 'entity-then-type' as const, threshold })),
    ...[0.1, 0.2, 0.3, 0.4, 0.5, 0.6].map((threshold) => ({ rule: 'type-vote' as const, threshold })),
  ];
}

/** Verification policies tried with a verifier (null: off). */
export const POLICIES: ReadonlyArray<Pick<TuneSettings, 'policy' | 'margin'> | null> = [
  { policy: 'all', margin: 0 },
  { policy: 'selective', margin: 0 },
  { policy: 'selective', margin: 0.5 },
  null,
];

/** The backbones EL4NER would use for this config (same rule as the pipeline). */
export function defaultBackbones(config: Config): string[] {
  return config.backbones
    ? [...config.backbones]
    : chatModels(
        config,
        config.models.map((m) => m.name),
      );
}

export function defaultSettings(config: Config): TuneSettings {
  const backbones = defaultBackbones(config);
  const weighted = config.stages.classification === 'weighted-vote' && config.voteWeights;
  const v = config.verification;
  return {
    backbones,
    verifier: config.stages.verification && v.policy !== 'off' ? (config.verifier ?? backbones[0]) : null,
    k: config.retrieval.k,
    ...(weighted
      ? {
          weights: Object.fromEntries(
            Object.entries(config.voteWeights!).map(([m, w]) => [m, typeof w === 'number' ? { '*': w } : w]),
          ),
        }
      : {}),
    rule: config.decision.rule,
    threshold: config.decision.threshold,
    votes: config.decision.votes,
    policy: v.policy === 'off' ? 'all' : v.policy,
    margin: v.margin,
    use: v.use,
    ...(config.decision.calibration ? { calibration: { ...config.decision.calibration.weights } } : {}),
    minScore: config.decision.minScore,
  };
}

function classificationFor(config: Config, s: TuneSettings) {
  if (s.weights !== undefined) return 'weighted-vote' as const;
  return config.stages.classification === 'weighted-vote' ? ('vote' as const) : config.stages.classification;
}

/** The config with the settings applied. */
export function applySettings(config: Config, s: TuneSettings): Config {
  const { calibration: _old, ...decision } = config.decision;
  return {
    ...config,
    backbones: [...s.backbones],
    ...(s.verifier ? { verifier: s.verifier } : {}),
    voteWeights: s.weights,
    retrieval: { ...config.retrieval, k: s.k },
    stages: {
      ...config.stages,
      verification: s.verifier !== null,
      classification: classificationFor(config, s),
    },
    decision: {
      ...decision,
      rule: s.rule,
      threshold: s.threshold,
      votes: s.votes,
      minScore: s.minScore,
      ...(s.calibration ? { calibration: { weights: s.calibration } } : {}),
    },
    verification: { ...config.verification, policy: s.policy, margin: s.margin, use: s.use },
  };
}

/** What the calls before verification depend on (soft votes ask the classifiers for logprobs). */
export const upstreamKey = (s: TuneSettings) => `${s.backbones.join(',')}|${s.k}|${s.votes}`;
export const settingsKey = (s: TuneSettings) => JSON.stringify({ ...s, backbones: s.backbones.join(',') });

export function describe(s: TuneSettings): string {
  const verifier = s.verifier
    ? `verifier ${s.verifier} (${s.policy === 'selective' ? `selective < ${s.margin}` : 'all'}, ${s.use})`
    : 'verification off';
  const rule =
    s.rule === 'hard-vote'
      ? 'hard-vote'
      : s.rule === 'type-vote'
        ? s.votes === 'soft'
          ? `type-vote > ${s.threshold}`
          : `type-vote (at least ${Math.floor(s.threshold * s.backbones.length + 1e-9) + 1} of ${s.backbones.length})`
        : `entity-then-type > ${s.threshold}`;
  const score = s.calibration
    ? `, calibrated >= ${s.minScore}`
    : s.minScore > 0
      ? `, score >= ${s.minScore}`
      : '';
  return `backbones ${s.backbones.join('+')}, ${verifier}, k ${s.k}, ${rule}${s.votes === 'soft' ? ' (soft votes)' : ''}, ${s.weights ? 'weighted' : 'unweighted'}${score}`;
}

/** The user's raw config (as written) with the chosen settings. */
export function applySettingsRaw(
  raw: RawConfig,
  s: TuneSettings,
  fusion?: Pick<LambdaTuning, 'chosen' | 'chosenOutside'>,
  fitted?: string,
): RawConfig {
  const out: RawConfig = structuredClone(raw);
  if (fusion) {
    if (typeof fusion.chosen === 'number')
      out.fusion = {
        ...(out.fusion ?? {}),
        lambda: fusion.chosen,
        ...(fusion.chosenOutside !== undefined ? { lambdaOutside: fusion.chosenOutside } : {}),
      };
    return out;
  }
  out.backbones = [...s.backbones];
  if (s.verifier) out.verifier = s.verifier;
  const stages: RawConfig = { ...(out.stages ?? {}), verification: s.verifier !== null };
  if (s.weights) {
    out.voteWeights = s.weights;
    stages.classification = 'weighted-vote';
  } else {
    delete out.voteWeights;
    if (stages.classification === 'weighted-vote') stages.classification = 'vote';
  }
  out.stages = stages;
  out.retrieval = { ...(out.retrieval ?? {}), k: s.k };
  const { calibration: _old, ...decision } = (out.decision ?? {}) as RawConfig;
  out.decision = {
    ...decision,
    rule: s.rule,
    threshold: s.threshold,
    votes: s.votes,
    minScore: s.minScore,
    ...(s.calibration ? { calibration: { weights: s.calibration, ...(fitted ? { fitted } : {}) } } : {}),
  };
  out.verification = { ...(out.verification ?? {}), policy: s.policy, margin: s.margin, use: s.use };
  return out;
}

/**
 * `el4ner tune`: chooses the backbone subset, the verifier, k, the decision (voting rule and its
 * threshold, verification policy), the vote weights and a calibrated entity score on labelled
 * dev data within a budget of LLM calls (see docs/experts.md and docs/decisions.md).
 *
 * Honest by construction: the dev sample is split (seeded) into a part the search chooses on and
 * a held-out part it reports on. The default config and the choice are both scored on the
 * held-out part, through the pipeline, and the choice is returned only when it scores at least
 * the default there; otherwise the default is returned, and the result says so.
 *
 * Budget: real model requests as counted by the cost ledger (chat and embedding); response-cache
 * hits are free. Before each candidate its calls are estimated (per sentence: the calls of the
 * stages it runs; only the verification calls when the cache holds an evaluated candidate with
 * the same upstream settings) and the candidate is skipped when the estimate is more than what is
 * left. The engines are guarded (budget.ts): a request that could pass the limit is refused, so
 * the budget is never exceeded; a candidate that saw refusals is 'incomplete' and cannot be chosen.
 *
 * Search on the choosing part. A change has to earn its place: it is kept only when its strict
 * micro-F1 is higher and it wins in at least `confidence` (default 0.9) of paired bootstrap
 * resamples of the choosing part's sentences, so a gain of a few hundredths, which the held-out
 * part and test data do not repeat, changes nothing. The search starts from the plain vote of
 * the configured backbones (rule type-vote, no verification: the baseline an ensemble has to
 * beat, and the cheapest decision) at the strict majority, or at the best other "at least m of n"
 * when that is significantly better; the default config replaces it only when it is
 * significantly better. Then coordinate steps: drop the backbone with the worst
 * span F1 (repeat while it helps); each model as verifier and no verification; k in a wide grid;
 * the decision grid (hard vote; entity-then-type at several thresholds; type-vote at every m of
 * n) x (verification all, selective at two margins, off); reliability weights on / off; then a
 * calibrated score: the candidates of one run are fitted by a logistic model
 * (voting/calibration.ts), cross-fitted in two folds so that its F1 and its threshold are
 * measured on answers it was not fitted on.
 */

import { chatModels } from '../assemble/engines.js';
import { createMethod, overlapPolicy, sharedDemoSource } from '../assemble/index.js';
import type { Config } from '../config/schema.js';
import type { Entity, NerDocument } from '../core/types.js';
import { callsPerChunk } from '../el4ner/pipeline.js';
import type { PipelineReport } from '../el4ner/report.js';
import type { ChunkTrace } from '../el4ner/state.js';
import { resolveStages } from '../el4ner/switches.js';
import { type Features, fitCalibration } from '../el4ner/voting/calibration.js';
import { type OverlapPolicy, resolveOverlaps } from '../el4ner/voting/overlaps.js';
import type { VotingRuleName } from '../el4ner/voting/rules.js';
import type { CostLedger } from '../engines/cost.js';
import type { Engine } from '../engines/types.js';
import { bootstrapWinShare } from '../eval/bootstrap.js';
import { addCounts, type Counts, prf, zeroCounts } from '../eval/prf.js';
import { mulberry32 } from '../eval/random.js';
import { countDocument } from '../eval/strict.js';
import type { DemoSource } from '../retrieval/demo-source.js';
import { type CachePeek, type CallBudget, guardEngines } from './budget.js';
import type { RawConfig } from './config-file.js';
import { type LambdaTuning, tuneFusionLambda } from './fusion-lambda.js';
import { measureExperts, reliabilityWeights } from './performance.js';

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
  policy: 'all' | 'selective';
  margin: number;
  use: 'veto' | 'feature';
  /** Logistic weights of a calibrated score (config `decision.calibration`). */
  calibration?: Record<string, number>;
  minScore: number;
}

export type TuneStep =
  | 'default'
  | 'plain-vote'
  | 'backbones'
  | 'verifier'
  | 'k'
  | 'decision'
  | 'weights'
  | 'calibration';

export interface CandidateRecord {
  id: number;
  step: TuneStep;
  description: string;
  settings: TuneSettings;
  estimate: number;
  status: 'evaluated' | 'skipped' | 'incomplete';
  calls: number;
  /** Strict micro scores on the choosing part (calibration: cross-fitted, out of fold). */
  f1?: number;
  precision?: number;
  recall?: number;
  /** Requests refused by the budget guard during this candidate. */
  refused?: number;
  /**
   * Compared with the best candidate at the time (`against`, its id): the share of paired
   * bootstrap resamples of the choosing part in which this one scored higher.
   */
  winShare?: number;
  against?: number;
  note?: string;
}

export interface HeldOutScore {
  f1: number;
  precision: number;
  recall: number;
  calls: number;
}

export interface TuneResult {
  budget: number;
  callsUsed: number;
  devSentences: number;
  /** Sentences the search chose on, and the held-out ones the choice is reported on. */
  split: { choose: number; heldOut: number; seed: number };
  /** The default config on the choosing part. */
  defaultF1: number | null;
  best: CandidateRecord | null;
  /** What was returned: the best candidate, or the default when it did not hold up on the held-out part. */
  chosen: TuneSettings;
  /** Default and best on the held-out part (null when not measured, e.g. the budget ran out). */
  heldOut: {
    default: HeldOutScore | null;
    best: HeldOutScore | null;
    /** The search's starting point, measured when the best fell below the default. */
    start?: HeldOutScore | null;
  };
  candidates: CandidateRecord[];
  /** Calls spent measuring per-model reliability for the weights. */
  weightCalls: number;
  /** Bootstrap win share a change needed. */
  confidence: number;
  /** Fusion mode (fusion.llm without fusion.voter): the lambda search instead of the ensemble steps. */
  fusion?: LambdaTuning & { calls: number; status: 'evaluated' | 'skipped' | 'incomplete' };
  notes: string[];
}

export interface TuneOptions {
  config: Config;
  dev: readonly NerDocument[];
  budget: CallBudget;
  /** Unguarded engines (from createEngines, with the same ledger as the budget). */
  engines: ReadonlyMap<string, Engine>;
  ledger: CostLedger;
  /** Whether a response cache is in use (cheaper estimates for repeated upstream settings). */
  cache: boolean;
  /** Tells cached requests apart so they pass the budget guard for free (cachePeek). */
  isCached?: CachePeek;
  demos?: DemoSource | readonly NerDocument[];
  kValues?: readonly number[];
  /** Share of the dev sample held out to report on (default 0.5). */
  holdout?: number;
  /** Seed of the split (default 13). */
  seed?: number;
  /** Bootstrap win share a change needs over the current best (default 0.9; 0: any gain). */
  confidence?: number;
  log?: (m: string) => void;
}

export const DEFAULT_K_VALUES = [0, 1, 2, 3, 5, 8, 12, 16] as const;

export const DEFAULT_CONFIDENCE = 0.9;

/** type-vote thresholds for n voters: (m - 0.5) / n keeps a type at least m of them gave. */
export function plainVoteThresholds(n: number): Array<{ rule: 'type-vote'; threshold: number }> {
  return Array.from({ length: n }, (_, i) => ({ rule: 'type-vote' as const, threshold: (i + 0.5) / n }));
}

/** The decision grid: the paper's hard vote, entity-then-type at these thresholds, the plain votes. */
function decisionRules(voters: number): Array<{ rule: VotingRuleName; threshold: number }> {
  return [
    { rule: 'hard-vote', threshold: 0.5 },
    ...[0, 0.25, 0.5, 0.75].map((threshold) => ({ rule: 'entity-then-type' as const, threshold })),
    ...plainVoteThresholds(voters),
  ];
}

/** Verification policies tried with a verifier (null: off). */
const POLICIES: ReadonlyArray<Pick<TuneSettings, 'policy' | 'margin'> | null> = [
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
      minScore: s.minScore,
      ...(s.calibration ? { calibration: { weights: s.calibration } } : {}),
    },
    verification: { ...config.verification, policy: s.policy, margin: s.margin, use: s.use },
  };
}

const upstreamKey = (s: TuneSettings) => `${s.backbones.join(',')}|${s.k}`;
const settingsKey = (s: TuneSettings) => JSON.stringify({ ...s, backbones: s.backbones.join(',') });

function describe(s: TuneSettings): string {
  const verifier = s.verifier
    ? `verifier ${s.verifier} (${s.policy === 'selective' ? `selective < ${s.margin}` : 'all'}, ${s.use})`
    : 'verification off';
  const rule =
    s.rule === 'hard-vote'
      ? 'hard-vote'
      : s.rule === 'type-vote'
        ? `type-vote (at least ${Math.floor(s.threshold * s.backbones.length + 1e-9) + 1} of ${s.backbones.length})`
        : `entity-then-type > ${s.threshold}`;
  const score = s.calibration
    ? `, calibrated >= ${s.minScore}`
    : s.minScore > 0
      ? `, score >= ${s.minScore}`
      : '';
  return `backbones ${s.backbones.join('+')}, ${verifier}, k ${s.k}, ${rule}, ${s.weights ? 'weighted' : 'unweighted'}${score}`;
}

/** Seeded split of the dev sample: the part to choose on and the held-out part. */
export function splitDev<T>(
  dev: readonly T[],
  holdout: number,
  seed: number,
): { choose: T[]; heldOut: T[]; split: boolean } {
  const nHeld = Math.round(dev.length * holdout);
  if (dev.length < 4 || nHeld < 1 || nHeld >= dev.length)
    return { choose: [...dev], heldOut: [...dev], split: false };
  const idx = dev.map((_, i) => i);
  const rand = mulberry32(seed);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const held = new Set(idx.slice(0, nHeld));
  return {
    choose: dev.filter((_, i) => !held.has(i)),
    heldOut: dev.filter((_, i) => held.has(i)),
    split: true,
  };
}

type Scored = Entity & { features: Features };

/** Strict micro F1 of the candidates kept at `minScore` with their given scores, overlaps resolved. */
function scoreAt(
  gold: readonly NerDocument[],
  candidates: ReadonlyArray<readonly Scored[]>,
  minScore: number,
  overlaps: OverlapPolicy,
  voters: readonly string[],
): Counts & { f1: number; p: number; r: number; perDocument: Counts[] } {
  const perDocument = gold.map((g, i) => {
    const kept = resolveOverlaps(
      candidates[i].filter((e) => (e.score ?? 0) >= minScore),
      overlaps,
      voters,
    );
    const { tp, fp, fn } = countDocument(g.entities, kept).total;
    return { tp, fp, fn };
  });
  const c = perDocument.reduce((a, d) => addCounts(a, d), zeroCounts());
  return { ...c, ...prf(c), perDocument };
}

const MIN_SCORES = Array.from({ length: 19 }, (_, i) => Math.round((i + 1) * 5) / 100);

/**
 * Fits a calibration on the candidates of one run: cross-fitted in two folds (each fold scored by
 * a model fitted on the other); each fold is cut at the threshold best on the other fold, which
 * gives the out-of-fold F1; then fitted on all of them, with the threshold best on all.
 * @param voters tie-break order of overlapping spans, as the pipeline's (its backbones)
 */
export function fitCalibratedScore(
  gold: readonly NerDocument[],
  candidates: ReadonlyArray<readonly Scored[]>,
  overlaps: OverlapPolicy,
  voters: readonly string[] = [],
): {
  weights: Record<string, number>;
  minScore: number;
  f1: number;
  p: number;
  r: number;
  examples: number;
  perDocument: Counts[];
} {
  const goldKeys = gold.map((g) => new Set(g.entities.map((e) => `${e.start}:${e.end}:${e.type}`)));
  const examples = (docs: number[]) =>
    docs.flatMap((i) =>
      candidates[i].map((e) => ({
        features: e.features,
        correct: goldKeys[i].has(`${e.start}:${e.end}:${e.type}`),
      })),
    );
  const folds = [0, 1].map((f) => gold.map((_, i) => i).filter((i) => i % 2 === f));
  const outOfFold: Scored[][] = candidates.map((c) => [...c]);
  for (const [f, docs] of folds.entries()) {
    const model = fitCalibration(examples(folds[1 - f]));
    for (const i of docs)
      outOfFold[i] = candidates[i].map((e) => {
        let z = 0;
        for (const [k, x] of Object.entries(e.features)) z += (model.weights[k] ?? 0) * x;
        return { ...e, score: 1 / (1 + Math.exp(-Math.max(-35, Math.min(35, z)))) };
      });
  }
  const bestThreshold = (docs: readonly number[]) => {
    const g = docs.map((i) => gold[i]);
    const c = docs.map((i) => outOfFold[i]);
    let best = { t: 0.5, f1: scoreAt(g, c, 0.5, overlaps, voters).f1 };
    for (const t of MIN_SCORES) {
      const f1 = scoreAt(g, c, t, overlaps, voters).f1;
      if (f1 > best.f1) best = { t, f1 };
    }
    return best.t;
  };
  // The reported F1 must not profit from choosing the threshold on the same scores: each fold is
  // cut at the threshold that was best on the other fold.
  const cutAt = gold.map(() => 0.5);
  for (const [f, docs] of folds.entries()) {
    const t = bestThreshold(folds[1 - f]);
    for (const i of docs) cutAt[i] = t;
  }
  const perDocument = gold.map(
    (g, i) => scoreAt([g], [outOfFold[i]], cutAt[i], overlaps, voters).perDocument[0],
  );
  const measured = prf(perDocument.reduce((a, d) => addCounts(a, d), zeroCounts()));
  const all = examples(gold.map((_, i) => i));
  return {
    weights: fitCalibration(all).weights,
    minScore: bestThreshold(gold.map((_, i) => i)),
    f1: measured.f1,
    p: measured.p,
    r: measured.r,
    examples: all.length,
    perDocument,
  };
}

export async function tune(opts: TuneOptions): Promise<TuneResult> {
  const { config, dev, budget, ledger } = opts;
  const log = opts.log ?? (() => {});
  const notes: string[] = [];
  const guarded = guardEngines(opts.engines, budget, opts.isCached);
  const seed = opts.seed ?? 13;
  const parts = splitDev(dev, opts.holdout ?? 0.5, seed);
  if (!parts.split)
    notes.push(
      `only ${dev.length} dev sentence(s): chosen and reported on the same sentences (give --sample 4 or more to hold some out)`,
    );
  const { choose, heldOut } = parts;
  const retrievalMode = config.retrieval.mode ?? config.stages.retrieval;
  const demos = opts.demos ?? (await sharedDemoSource(config, { engines: opts.engines, log }));
  const hasDemos = Boolean(demos) || Boolean(config.pool);
  const candidates: CandidateRecord[] = [];
  const done = new Map<string, CandidateRecord>();
  const reports = new Map<number, PipelineReport>();
  /** Strict counts per choosing-part sentence of each evaluated candidate, for the bootstrap. */
  const perDocument = new Map<number, Counts[]>();
  const confidence = opts.confidence ?? DEFAULT_CONFIDENCE;
  const evaluated = new Set<string>();
  const chatModelNames = defaultBackbones({ ...config, backbones: undefined });
  const result: TuneResult = {
    budget: budget.limit,
    callsUsed: 0,
    devSentences: dev.length,
    split: { choose: choose.length, heldOut: parts.split ? heldOut.length : 0, seed },
    defaultF1: null,
    best: null,
    chosen: defaultSettings(config),
    heldOut: { default: null, best: null },
    candidates,
    weightCalls: 0,
    confidence,
    notes,
  };

  // Per sentence: the calls of the stages the candidate runs (the stage modules count them), plus
  // one embedding call when an embedding model embeds the query spans.
  const estimate = (s: TuneSettings, n: number): number => {
    const switches = resolveStages(applySettings(config, s));
    const calls = callsPerChunk({
      switches,
      backbones: s.backbones,
      singleModel: switches.singleModel ?? s.backbones[0],
      k: s.k,
      demos: hasDemos ? { size: 1 } : undefined,
      verification: { policy: s.policy },
    });
    const ver = calls.verify ?? 0;
    const upstream =
      Object.values(calls).reduce((a, c) => a + c, 0) -
      ver +
      (config.embedding && s.k > 0 && hasDemos ? 1 : 0);
    const sameUpstream = evaluated.has(upstreamKey(s));
    return n * ((opts.cache && sameUpstream ? 0 : upstream) + ver);
  };

  /** Runs the settings on `docs` through the pipeline (guarded engines); undefined when it could not finish. */
  const runOn = async (s: TuneSettings, docs: readonly NerDocument[], withTraces: boolean) => {
    const before = ledger.summary().total.calls;
    budget.resetRefusals();
    let method: Awaited<ReturnType<typeof createMethod>> | undefined;
    try {
      method = await createMethod(applySettings(config, s), {
        engines: { engines: guarded, ledger },
        demos,
        log: () => {},
      });
      const out = withTraces
        ? {
            traces: (await method.tag(docs)).traces as ChunkTrace[],
            report: undefined,
            perDocument: undefined,
          }
        : await (async () => {
            const r = await method.evaluate(docs);
            return { traces: undefined, report: r.details as PipelineReport, perDocument: r.perDocument };
          })();
      return { ...out, calls: ledger.summary().total.calls - before, refused: budget.refused };
    } catch (e) {
      return {
        error: (e as Error).message,
        calls: ledger.summary().total.calls - before,
        refused: budget.refused,
      };
    } finally {
      await method?.close();
    }
  };

  const evaluate = async (
    step: TuneStep,
    s: TuneSettings,
    description = describe(s),
  ): Promise<CandidateRecord> => {
    const key = settingsKey(s);
    const prev = done.get(key);
    if (prev) return prev;
    const rec: CandidateRecord = {
      id: candidates.length,
      step,
      description,
      settings: s,
      estimate: estimate(s, choose.length),
      status: 'skipped',
      calls: 0,
    };
    candidates.push(rec);
    if (rec.estimate > budget.remaining) {
      rec.note = `estimated ${rec.estimate} calls, ${budget.remaining} left`;
      log(`skip ${description}: ${rec.note}`);
      return rec;
    }
    const r = await runOn(s, choose, false);
    rec.calls = r.calls;
    rec.refused = r.refused;
    if ('error' in r) {
      rec.status = 'incomplete';
      rec.note = r.error;
    } else {
      const report = r.report!;
      rec.f1 = report.final.micro.f1;
      rec.precision = report.final.micro.p;
      rec.recall = report.final.micro.r;
      rec.status = r.refused > 0 ? 'incomplete' : 'evaluated';
      if (rec.status === 'evaluated') {
        reports.set(rec.id, report);
        if (r.perDocument) perDocument.set(rec.id, r.perDocument);
        evaluated.add(upstreamKey(s));
      }
      log(
        `${description}: strict F1 ${(100 * rec.f1).toFixed(2)}, ${rec.calls} calls${rec.status === 'incomplete' ? ' (incomplete: budget reached)' : ''}`,
      );
    }
    done.set(key, rec);
    return rec;
  };

  const base = defaultSettings(config);
  if (config.fusion?.llm && !config.fusion.voter) return tuneFusion(opts, guarded, base, notes);
  const first = await evaluate('default', base, `default: ${describe(base)}`);
  let best: CandidateRecord | null = first.status === 'evaluated' ? first : null;
  /** Where the coordinate steps start: the default, or the plain vote. */
  let start: CandidateRecord | null = best;
  if (!best) notes.push('the default config could not be evaluated within the budget; nothing was changed');
  /** `c` beats `than` by F1 and in at least `confidence` of paired bootstrap resamples. */
  const beats = (c: CandidateRecord, than: CandidateRecord) => {
    if (c.status !== 'evaluated' || than.status !== 'evaluated' || !(c.f1! > than.f1!)) return false;
    const a = perDocument.get(c.id);
    const b = perDocument.get(than.id);
    if (!a || !b) return true;
    c.winShare = bootstrapWinShare(a, b, { seed });
    c.against = than.id;
    return c.winShare >= confidence;
  };
  const better = (c: CandidateRecord) => best !== null && beats(c, best);

  // 0. The plain vote of the same backbones (no verification): the default must beat it clearly.
  // It starts at the strict majority (`el4ner ensemble --strategy vote`); another "m of n" takes
  // its place only when it beats it clearly too.
  if (best && base.backbones.length > 1) {
    const n = base.backbones.length;
    const votes: CandidateRecord[] = [];
    for (const d of plainVoteThresholds(n)) {
      const c = await evaluate('plain-vote', {
        ...base,
        ...d,
        verifier: null,
        weights: undefined,
        use: 'veto',
        calibration: undefined,
        minScore: 0,
      });
      if (c.status === 'evaluated') votes.push(c);
    }
    const byF1 = [...votes].sort((a, b) => b.f1! - a.f1!);
    const majorityAt = plainVoteThresholds(n)[Math.floor(n / 2)].threshold;
    let plain = votes.find((c) => c.settings.threshold === majorityAt) ?? byF1[0] ?? null;
    const rival = byF1.find((c) => c !== plain);
    if (plain && rival && beats(rival, plain)) plain = rival;
    if (plain && !beats(first, plain)) {
      best = plain;
      start = plain;
      notes.push(
        `the search starts from the plain vote (${plain.description}): the default did not beat it in ${confidence} of bootstrap resamples`,
      );
    }
  }

  if (best) {
    // 1. Backbones: drop the one whose spans match gold worst, while that helps.
    while (best.settings.backbones.length > 1) {
      const report = reports.get(best.id)!;
      const spanF1 = (m: string) => {
        const x = report.extraction.perModel[m];
        if (!x) return -1;
        return x.spanPrecision + x.spanRecall
          ? (2 * x.spanPrecision * x.spanRecall) / (x.spanPrecision + x.spanRecall)
          : 0;
      };
      const worst = [...best.settings.backbones].sort((a, b) => spanF1(a) - spanF1(b))[0];
      const s: TuneSettings = {
        ...best.settings,
        backbones: best.settings.backbones.filter((b) => b !== worst),
      };
      if (s.weights) s.weights = Object.fromEntries(Object.entries(s.weights).filter(([m]) => m !== worst));
      const c = await evaluate('backbones', s, `drop ${worst}: ${describe(s)}`);
      if (!better(c)) break;
      best = c;
    }
    // 2. Verifier: each chat model, and none.
    const b0 = best;
    for (const v of [...chatModelNames, null]) {
      if (v === b0.settings.verifier) continue;
      const c = await evaluate('verifier', { ...b0.settings, verifier: v });
      if (better(c)) best = c;
    }
    // 3. k (number of demonstrations), when there is a pool to draw them from.
    if (hasDemos && retrievalMode !== 'none') {
      const b1 = best;
      for (const k of opts.kValues ?? DEFAULT_K_VALUES) {
        if (k === b1.settings.k) continue;
        const c = await evaluate('k', { ...b1.settings, k });
        if (better(c)) best = c;
      }
    } else notes.push('k not tuned: no demonstration pool or retrieval none');
    // 4. The decision: voting rule and threshold x verification policy (no new upstream calls).
    const b2 = best;
    const verifier = b2.settings.verifier ?? config.verifier ?? b2.settings.backbones[0];
    for (const d of decisionRules(b2.settings.backbones.length))
      for (const p of POLICIES) {
        const s: TuneSettings = {
          ...b2.settings,
          ...d,
          verifier: p ? verifier : null,
          ...(p ?? {}),
          use: 'veto',
          calibration: undefined,
          minScore: 0,
        };
        const c = await evaluate('decision', s);
        if (better(c)) best = c;
      }
    // 5. Weights: reliability measured per backbone alone, then weighted vote on / off.
    if (best.settings.backbones.length > 1) {
      const b3 = best;
      if (b3.settings.weights) {
        const c = await evaluate('weights', { ...b3.settings, weights: undefined });
        if (better(c)) best = c;
      }
      const B = b3.settings.backbones.length;
      const pre = retrievalMode === 'span-level' && b3.settings.k > 0 && hasDemos ? 1 : 0;
      const need = B * choose.length * (pre + 2) + estimate({ ...b3.settings, weights: {} }, choose.length);
      if (need > budget.remaining) {
        notes.push(`weights not measured: about ${need} calls needed, ${budget.remaining} left`);
      } else {
        const before = ledger.summary().total.calls;
        budget.resetRefusals();
        const perf = await measureExperts({
          config: applySettings(config, b3.settings),
          voters: b3.settings.backbones,
          labelled: choose,
          engines: guarded,
          ledger,
          demos,
        });
        result.weightCalls = ledger.summary().total.calls - before;
        if (budget.refused > 0) notes.push('weights not used: the budget ran out while measuring them');
        else {
          const c = await evaluate('weights', { ...b3.settings, weights: reliabilityWeights(perf) });
          if (better(c)) best = c;
        }
      }
    }
    // 6. A calibrated score over every candidate span (entity-then-type > 0), the verdict as a feature.
    const calibrated = await calibrate(best.settings);
    if (calibrated && better(calibrated)) best = calibrated;
  }

  async function calibrate(from: TuneSettings): Promise<CandidateRecord | undefined> {
    const s: TuneSettings = {
      ...from,
      rule: 'entity-then-type',
      threshold: 0,
      use: from.verifier ? 'feature' : 'veto',
      calibration: undefined,
      minScore: 0,
    };
    const rec: CandidateRecord = {
      id: candidates.length,
      step: 'calibration',
      description: `calibrated score on ${describe(s)}`,
      settings: s,
      estimate: estimate(s, choose.length),
      status: 'skipped',
      calls: 0,
    };
    candidates.push(rec);
    if (rec.estimate > budget.remaining) {
      rec.note = `estimated ${rec.estimate} calls, ${budget.remaining} left`;
      return rec;
    }
    const r = await runOn(s, choose, true);
    rec.calls = r.calls;
    rec.refused = r.refused;
    if ('error' in r || r.refused > 0) {
      rec.status = 'incomplete';
      rec.note = 'error' in r ? r.error : 'budget reached';
      return rec;
    }
    const byDoc: Scored[][] = choose.map(() => []);
    for (const t of r.traces!) byDoc[t.doc].push(...t.candidates);
    const fit = fitCalibratedScore(
      choose,
      byDoc,
      await overlapPolicy(config, demos as DemoSource | undefined),
      s.backbones,
    );
    rec.settings = { ...s, calibration: fit.weights, minScore: fit.minScore };
    rec.description = `calibrated >= ${fit.minScore} (${fit.examples} candidates, 2-fold out-of-fold F1): ${describe(s)}`;
    rec.f1 = fit.f1;
    rec.precision = fit.p;
    rec.recall = fit.r;
    rec.status = 'evaluated';
    perDocument.set(rec.id, fit.perDocument);
    log(`${rec.description}: strict F1 ${(100 * fit.f1).toFixed(2)}, ${rec.calls} calls`);
    return rec;
  }

  result.defaultF1 = first.status === 'evaluated' ? first.f1! : null;
  result.best = best;
  if (best) {
    // The held-out part: the default and the choice, through the pipeline.
    const measure = async (s: TuneSettings): Promise<HeldOutScore | null> => {
      if (estimate(s, heldOut.length) > budget.remaining) return null;
      const r = await runOn(s, heldOut, false);
      if ('error' in r || r.refused > 0) return null;
      const m = r.report!.final.micro;
      return { f1: m.f1, precision: m.p, recall: m.r, calls: r.calls };
    };
    const same = settingsKey(best.settings) === settingsKey(base);
    result.heldOut.default = await measure(base);
    result.heldOut.best = same ? result.heldOut.default : await measure(best.settings);
    const d = result.heldOut.default;
    const b = result.heldOut.best;
    if (same) result.chosen = base;
    else if (d && b && b.f1 >= d.f1) result.chosen = best.settings;
    else {
      result.chosen = base;
      notes.push(
        d && b
          ? `the best candidate scored ${(100 * b.f1).toFixed(2)} on the held-out part, below the default's ${(100 * d.f1).toFixed(2)}`
          : 'the held-out part could not be scored within the budget: the default is kept',
      );
      // Back off to where the search started (the plain vote), if that holds up against the default.
      const s = start && d && b ? start.settings : undefined;
      const backOff =
        s && settingsKey(s) !== settingsKey(best.settings) && settingsKey(s) !== settingsKey(base)
          ? await measure(s)
          : null;
      result.heldOut.start = backOff;
      if (backOff && d && backOff.f1 >= d.f1) {
        result.chosen = s!;
        notes.push(
          `the search's starting point (${start!.description}) scored ${(100 * backOff.f1).toFixed(2)} there, at least the default's: it is returned`,
        );
      } else if (d && b) notes.push('the default is kept');
    }
  }
  result.callsUsed = budget.used;
  return result;
}

/**
 * Fusion mode: `el4ner run` runs the SLM+LLM fusion tagger, so only lambda matters. The LLM tags
 * every dev sentence once (estimate: one call per sentence); lambda is chosen from those answers.
 */
async function tuneFusion(
  opts: TuneOptions,
  guarded: Map<string, Engine>,
  base: TuneSettings,
  notes: string[],
): Promise<TuneResult> {
  const { budget, ledger, dev } = opts;
  const result: TuneResult = {
    budget: budget.limit,
    callsUsed: 0,
    devSentences: dev.length,
    split: { choose: dev.length, heldOut: 0, seed: opts.seed ?? 13 },
    defaultF1: null,
    best: null,
    chosen: base,
    heldOut: { default: null, best: null },
    candidates: [],
    weightCalls: 0,
    confidence: opts.confidence ?? DEFAULT_CONFIDENCE,
    notes,
  };
  notes.push('fusion mode (fusion.llm without fusion.voter): only fusion.lambda is tuned');
  if (dev.length > budget.remaining) {
    notes.push(`fusion lambda not tuned: about ${dev.length} calls needed, ${budget.remaining} left`);
    result.callsUsed = budget.used;
    return result;
  }
  const before = ledger.summary().total.calls;
  budget.resetRefusals();
  const t = await tuneFusionLambda(opts.config, dev, guarded, ledger);
  const calls = ledger.summary().total.calls - before;
  const status = budget.refused > 0 ? 'incomplete' : 'evaluated';
  result.fusion = { ...t, calls, status };
  if (status === 'incomplete') {
    result.fusion.chosen = t.defaultLambda;
    notes.push('fusion lambda not changed: the budget ran out while the LLM tagged the dev sample');
  }
  result.defaultF1 = t.defaultF1;
  result.callsUsed = budget.used;
  return result;
}

/** The user's raw config (as written) with the chosen settings. */
export function applySettingsRaw(
  raw: RawConfig,
  s: TuneSettings,
  fusion?: TuneResult['fusion'],
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
    minScore: s.minScore,
    ...(s.calibration ? { calibration: { weights: s.calibration, ...(fitted ? { fitted } : {}) } } : {}),
  };
  out.verification = { ...(out.verification ?? {}), policy: s.policy, margin: s.margin, use: s.use };
  return out;
}

const pct = (x: number | null | undefined) => (x == null ? '-' : (100 * x).toFixed(2));

/** Every candidate as a table line, then the held-out comparison. */
export function formatTune(r: TuneResult): string {
  const lines = [
    `tuning on ${r.devSentences} dev sentence(s): ${r.split.choose} to choose on, ${r.split.heldOut} held out; ${r.callsUsed} of ${r.budget} call(s) used`,
  ];
  if (r.fusion) {
    const f = r.fusion;
    lines.push(
      `fusion lambda: configured ${f.defaultLambda} (dev F1 ${pct(f.defaultF1)}), best ${f.lambda.toPrecision(4)} (dev F1 ${pct(f.f1)}, ${f.valuesTried} values tried, ${f.calls} calls, ${f.status})`,
      `chosen: fusion.lambda ${f.chosen}`,
    );
    return lines.join('\n');
  }
  if (r.candidates.length === 0) return [...lines, 'nothing evaluated'].join('\n');
  lines.push('  #  step         status      F1     wins (vs #)  calls  estimate  settings');
  for (const c of r.candidates) {
    const wins = c.winShare === undefined ? '-' : `${c.winShare.toFixed(2)} (#${c.against})`;
    lines.push(
      `${String(c.id).padStart(3)}  ${c.step.padEnd(11)}  ${c.status.padEnd(10)}  ${c.f1 === undefined ? '     -' : (100 * c.f1).toFixed(2).padStart(6)}  ${wins.padStart(11)}  ${String(c.calls).padStart(5)}  ${String(c.estimate).padStart(8)}  ${c.description}`,
    );
  }
  lines.push(
    `held out (${r.split.heldOut || r.split.choose} sentences): default F1 ${pct(r.heldOut.default?.f1)}, best candidate F1 ${pct(r.heldOut.best?.f1)}${r.heldOut.start !== undefined ? `, the search's start F1 ${pct(r.heldOut.start?.f1)}` : ''}`,
  );
  lines.push(
    `a change was kept when it won in at least ${r.confidence} of paired bootstrap resamples (wins) against the best before it`,
  );
  lines.push(`chosen: ${describe(r.chosen)}`);
  return lines.join('\n');
}

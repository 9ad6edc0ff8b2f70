/**
 * `el4ner tune`: chooses the backbone subset, the verifier, k, the decision (voting rule and its
 * threshold, verification policy), the vote weights and a calibrated entity score on labelled
 * dev data within a budget of LLM calls (see docs/experts.md and docs/decisions.md).
 *
 * Honest by construction: what is returned was checked on dev sentences the search did not
 * choose on, against the default config on the same sentences.
 * - Cross-validated (`folds` >= 2, the default 2): the search runs on all of the dev sample and
 *   its result is what would be returned; to check it, the same search runs once per fold on the
 *   other folds, and its choice is scored on the fold it did not see. The search's result is
 *   returned only when those held-out scores, pooled over the folds, are at least the default's
 *   on the same sentences; else the search's starting point (the plain vote) when that holds up
 *   the same way; else the default. Every dev sentence helps choose, and every one is held out.
 * - One split (`folds` 1): the search chooses on part of the sample and the choice and the
 *   default are scored on the held-out rest (`holdout`, default half).
 *
 * Budget: real model requests as counted by the cost ledger (chat and embedding); response-cache
 * hits are free. Before each candidate its calls are estimated (tune-search.ts) and the candidate
 * is skipped when the estimate is more than what is left. The engines are guarded (budget.ts): a
 * request that could pass the limit is refused, so the budget is never exceeded; a candidate that
 * saw refusals is 'incomplete' and cannot be chosen.
 */

import { sharedDemoSource } from '../assemble/index.js';
import type { Config } from '../config/schema.js';
import { seededOrder } from '../core/random.js';
import type { NerDocument } from '../core/types.js';
import type { CostLedger } from '../engines/cost.js';
import type { Engine } from '../engines/types.js';
import { addCounts, type Counts, prf, zeroCounts } from '../eval/prf.js';
import type { DemoSource } from '../retrieval/demo-source.js';
import type { ScoredDegraded } from '../run/degraded.js';
import { type CachePeek, type CallBudget, guardEngines } from './budget.js';
import { type LambdaTuning, tuneFusionLambda } from './fusion-lambda.js';
import {
  type CandidateRecord,
  type HeldOutScore,
  type RunProgress,
  type SearchOutcome,
  TuneRunner,
  type TuneStep,
} from './tune-search.js';
import { defaultSettings, settingsKey, type TuneSettings } from './tune-settings.js';

export { fitCalibratedScore } from './tune-calibration.js';
export { formatTune } from './tune-format.js';
export {
  applySettings,
  applySettingsRaw,
  DEFAULT_K_VALUES,
  defaultBackbones,
  defaultSettings,
  plainVoteThresholds,
  type TuneSettings,
} from './tune-settings.js';
export type { CandidateRecord, HeldOutScore, RunProgress, TuneStep };

export const DEFAULT_CONFIDENCE = 0.9;
export const DEFAULT_FOLDS = 2;

export interface FoldRecord {
  /** Sentences of this fold (held out from its search). */
  heldOut: number;
  /** What the search on the other folds chose, and where it started. */
  chosen: string;
  start: string | null;
  /** On this fold: the default, the choice and the start (null: not measured). */
  default: HeldOutScore | null;
  best: HeldOutScore | null;
  startScore: HeldOutScore | null;
}

export interface TuneResult {
  budget: number;
  callsUsed: number;
  devSentences: number;
  /**
   * Sentences the search chose on, and those the choice is reported on. Cross-validated: all of
   * them both ways (each sentence held out once), `folds` says how many.
   */
  split: { choose: number; heldOut: number; seed: number; folds?: number };
  /** The default config on the part chosen on. */
  defaultF1: number | null;
  best: CandidateRecord | null;
  /** What was returned: the best candidate, or the default when it did not hold up on the held-out part. */
  chosen: TuneSettings;
  /**
   * Default and best on the held-out part (cross-validated: pooled over the folds, each fold
   * scored with the choice of the search that did not see it); null when not measured.
   */
  heldOut: {
    default: HeldOutScore | null;
    best: HeldOutScore | null;
    /** The search's starting point, measured when the best fell below the default. */
    start?: HeldOutScore | null;
  };
  /** Cross-validation: one record per fold. */
  folds?: FoldRecord[];
  candidates: CandidateRecord[];
  /** Calls spent measuring per-model reliability for the weights. */
  weightCalls: number;
  /** Bootstrap win share a change needed. */
  confidence: number;
  /** Runs whose sentences came out degraded (a model's answer lost): their scores are not the settings' own. */
  degraded: ScoredDegraded[];
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
  /** Cross-validation folds (default 2); 1: one split by `holdout`. */
  folds?: number;
  /** With one fold: share of the dev sample held out to report on (default 0.5). */
  holdout?: number;
  /** Seed of the split (default 13). */
  seed?: number;
  /** Bootstrap win share a change needs over the current best (default 0.9; 0: any gain). */
  confidence?: number;
  log?: (m: string) => void;
  /**
   * Progress of each run over dev sentences, ticked per sentence: a candidate (`candidate 3
   * (verifier)`, `fold 1/2: ` before it in a fold's search), a held-out score (`held out: default`),
   * a backbone measured alone for the weights, the LLM's answers in fusion mode.
   */
  progress?: RunProgress;
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
  const held = new Set(seededOrder(dev.length, seed).slice(0, nHeld));
  return {
    choose: dev.filter((_, i) => !held.has(i)),
    heldOut: dev.filter((_, i) => held.has(i)),
    split: true,
  };
}

/**
 * Seeded folds of the dev sample, in the sample's order within each; with 2 folds the first is
 * splitDev's held-out half. Empty when there are fewer than 2 sentences per fold.
 */
export function devFolds<T>(dev: readonly T[], folds: number, seed: number): T[][] {
  if (folds < 2 || dev.length < 2 * folds) return [];
  const order = seededOrder(dev.length, seed);
  const foldOf = new Map<number, number>();
  for (let f = 0; f < folds; f++)
    for (const i of order.slice(
      Math.round((f * dev.length) / folds),
      Math.round(((f + 1) * dev.length) / folds),
    ))
      foldOf.set(i, f);
  return Array.from({ length: folds }, (_, f) => dev.filter((_, i) => foldOf.get(i) === f));
}

/** Held-out scores of several parts as one (counts pooled); null when one of them is missing. */
function pooled(scores: ReadonlyArray<HeldOutScore | null>): HeldOutScore | null {
  if (scores.some((s) => s === null)) return null;
  const c: Counts = zeroCounts();
  let calls = 0;
  for (const s of scores as HeldOutScore[]) {
    addCounts(c, s);
    calls += s.calls;
  }
  const m = prf(c);
  return { ...c, f1: m.f1, precision: m.p, recall: m.r, calls };
}

const pct = (x: number) => (100 * x).toFixed(2);

export async function tune(opts: TuneOptions): Promise<TuneResult> {
  const { config, dev, budget, ledger } = opts;
  const log = opts.log ?? (() => {});
  const notes: string[] = [];
  const guarded = guardEngines(opts.engines, budget, opts.isCached);
  const seed = opts.seed ?? 13;
  const confidence = opts.confidence ?? DEFAULT_CONFIDENCE;
  const base = defaultSettings(config);
  if (config.fusion?.llm && !config.fusion.voter) return tuneFusion(opts, guarded, base, notes);
  const demos = opts.demos ?? (await sharedDemoSource(config, { engines: opts.engines, log }));
  const runner = new TuneRunner({
    config,
    budget,
    engines: guarded,
    ledger,
    cache: opts.cache,
    demos,
    kValues: opts.kValues,
    confidence,
    seed,
    progress: opts.progress,
  });
  const nFolds = opts.folds ?? DEFAULT_FOLDS;
  const folds = devFolds(dev, nFolds, seed);
  const single = folds.length === 0 ? splitDev(dev, opts.holdout ?? 0.5, seed) : undefined;
  if (single && !single.split)
    notes.push(
      `only ${dev.length} dev sentence(s): chosen and reported on the same sentences (give --sample ${nFolds > 1 ? 2 * nFolds : 4} or more to hold some out)`,
    );
  const choose = single ? single.choose : [...dev];
  const outcome = await runner.search(base, choose, log);
  notes.push(...outcome.notes);
  const { best, start } = outcome;
  const result: TuneResult = {
    budget: budget.limit,
    callsUsed: 0,
    devSentences: dev.length,
    split: single
      ? { choose: choose.length, heldOut: single.split ? single.heldOut.length : 0, seed }
      : { choose: dev.length, heldOut: dev.length, seed, folds: folds.length },
    defaultF1: outcome.first.status === 'evaluated' ? outcome.first.f1! : null,
    best,
    chosen: base,
    heldOut: { default: null, best: null },
    candidates: outcome.candidates,
    weightCalls: outcome.weightCalls,
    confidence,
    notes,
    degraded: runner.degraded,
  };
  if (best && settingsKey(best.settings) !== settingsKey(base)) {
    const check = single
      ? await checkOnHeldOut(runner, base, outcome, single.heldOut)
      : await crossValidate(runner, base, dev, folds, log, result);
    result.heldOut = check;
    const d = check.default;
    const b = check.best;
    if (d && b && b.f1 >= d.f1) result.chosen = best.settings;
    else if (!d || !b)
      notes.push('the held-out part could not be scored within the budget: the default is kept');
    else {
      notes.push(
        `the best candidate scored ${pct(b.f1)} on the held-out part, below the default's ${pct(d.f1)}`,
      );
      const s = check.start;
      if (s && start && settingsKey(start.settings) !== settingsKey(base) && s.f1 >= d.f1) {
        result.chosen = start.settings;
        notes.push(
          `the search's starting point (${start.description}) scored ${pct(s.f1)} there, at least the default's: it is returned`,
        );
      } else notes.push('the default is kept');
    }
  } else if (best) {
    // The search kept the default: its held-out scores are the default's.
    const d = single
      ? await runner.measure(base, single.heldOut, 'held out: default')
      : await measureFolds(runner, base, folds);
    result.heldOut = { default: d, best: d };
  }
  result.callsUsed = budget.used;
  return result;
}

type HeldOutCheck = TuneResult['heldOut'];

/** `s` scored on each fold in turn (one run, one progress at a time), pooled. */
async function measureFolds(
  runner: TuneRunner,
  s: TuneSettings,
  folds: readonly NerDocument[][],
): Promise<HeldOutScore | null> {
  const scores: Array<HeldOutScore | null> = [];
  for (const [f, fold] of folds.entries())
    scores.push(await runner.measure(s, fold, `fold ${f + 1}/${folds.length}: held out: default`));
  return pooled(scores);
}

/** The start is worth measuring when it is neither the best nor the default. */
const distinctStart = (base: TuneSettings, o: SearchOutcome) =>
  o.start &&
  o.best &&
  settingsKey(o.start.settings) !== settingsKey(o.best.settings) &&
  settingsKey(o.start.settings) !== settingsKey(base)
    ? o.start.settings
    : undefined;

/** One split: the default, the choice and (when the choice loses) the start on the held-out part. */
async function checkOnHeldOut(
  runner: TuneRunner,
  base: TuneSettings,
  o: SearchOutcome,
  heldOut: readonly NerDocument[],
): Promise<HeldOutCheck> {
  const d = await runner.measure(base, heldOut, 'held out: default');
  const b = await runner.measure(o.best!.settings, heldOut, 'held out: best');
  const s = distinctStart(base, o);
  if (!d || !b || b.f1 >= d.f1 || !s) return { default: d, best: b };
  return { default: d, best: b, start: await runner.measure(s, heldOut, 'held out: start') };
}

/**
 * Cross-validation of the search: per fold, the search on the other folds, its choice (and its
 * start) and the default scored on the fold; pooled over the folds.
 */
async function crossValidate(
  runner: TuneRunner,
  base: TuneSettings,
  dev: readonly NerDocument[],
  folds: readonly NerDocument[][],
  log: (m: string) => void,
  result: TuneResult,
): Promise<HeldOutCheck> {
  const records: FoldRecord[] = [];
  for (const [f, fold] of folds.entries()) {
    const inFold = new Set(fold);
    const rest = dev.filter((d) => !inFold.has(d));
    const tag = `fold ${f + 1}/${folds.length}`;
    const o = await runner.search(base, rest, (m) => log(`${tag}: ${m}`), `${tag}: `);
    const d = await runner.measure(base, fold, `${tag}: held out: default`);
    const chosen = o.best?.settings;
    const b = !chosen
      ? null
      : settingsKey(chosen) === settingsKey(base)
        ? d
        : await runner.measure(chosen, fold, `${tag}: held out: best`);
    const s = o.start?.settings;
    const startScore = !s
      ? null
      : settingsKey(s) === settingsKey(base)
        ? d
        : settingsKey(s) === settingsKey(chosen!)
          ? b
          : await runner.measure(s, fold, `${tag}: held out: start`);
    records.push({
      heldOut: fold.length,
      chosen: o.best?.description ?? '-',
      start: o.start?.description ?? null,
      default: d,
      best: b,
      startScore,
    });
    log(
      `${tag}: chosen on ${rest.length} sentence(s): ${o.best?.description ?? '-'}; on the ${fold.length} held out: F1 ${b ? pct(b.f1) : '-'} against the default's ${d ? pct(d.f1) : '-'}`,
    );
  }
  result.folds = records;
  return {
    default: pooled(records.map((r) => r.default)),
    best: pooled(records.map((r) => r.best)),
    start: pooled(records.map((r) => r.startScore)),
  };
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
    degraded: [],
  };
  notes.push('fusion mode (fusion.llm without fusion.voter): only fusion.lambda is tuned');
  if (dev.length > budget.remaining) {
    notes.push(`fusion lambda not tuned: about ${dev.length} calls needed, ${budget.remaining} left`);
    result.callsUsed = budget.used;
    return result;
  }
  const before = ledger.summary().total.calls;
  budget.resetRefusals();
  const t = await tuneFusionLambda(opts.config, dev, guarded, ledger, opts.progress);
  const calls = ledger.summary().total.calls - before;
  const status = budget.refused > 0 ? 'incomplete' : 'evaluated';
  const { degraded, ...tuning } = t;
  result.fusion = { ...tuning, calls, status };
  if (degraded > 0)
    result.degraded.push({ what: 'fusion: LLM answers', documents: dev.length, degraded, unanswered: 0 });
  if (status === 'incomplete') {
    result.fusion.chosen = t.defaultLambda;
    notes.push('fusion lambda not changed: the budget ran out while the LLM tagged the dev sample');
  }
  result.defaultF1 = t.defaultF1;
  result.callsUsed = budget.used;
  return result;
}

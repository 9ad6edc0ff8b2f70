/**
 * Choosing lambda on a dev set from cached SLM marginals and LLM answers (no model calls).
 *
 * The LLM wins a conflict exactly when lambda > S_S / e^P (see fuse.ts), so strict micro-F1 is
 * a step function of lambda that only changes at those thresholds. The search evaluates one
 * lambda inside every interval between consecutive distinct thresholds (plus one below all and
 * one above all), which finds the true optimum; golden-section search would assume a unimodal
 * curve, which this is not. With more than `maxCandidates` distinct thresholds, intervals are
 * taken between evenly spaced quantiles of them (approximate). A `grid` evaluates just the given
 * values instead. Ties go to the smaller lambda (more trust in the SLM).
 *
 * Two stages, one per knob: first lambda over the paper's conflicts (type, boundary, LLM-only
 * entity) with no SLM entity removed; then, at that lambda, `lambdaOutside` over the removals
 * of SLM-only entities (see fuse.ts for why removals have their own lambda).
 *
 * The guard: the best pair is an argmax over many candidates, and on a small or shifted dev set
 * it often wins by chance. The two systems alone are the ends of the search (both lambdas below
 * every threshold: the SLM alone; above every threshold: the LLM wherever it has a probability).
 * Unless the best pair beats the better of the two in at least `minWinShare` of paired bootstrap
 * resamples of the dev documents, that system is chosen instead. So fusion moves away from the
 * better single system only where the dev data clearly says so.
 */
import type { Entity, TagScheme } from '../core/types.js';
import { bootstrapWinShare } from '../eval/bootstrap.js';
import { addCounts, type Counts, prf, zeroCounts } from '../eval/prf.js';
import { countDocument } from '../eval/strict.js';
import {
  applyPlan,
  type DecisionKind,
  entitiesFromSpans,
  type FusionCase,
  type FusionPlan,
  planFusion,
} from './fuse.js';
import type { ProbabilityKind } from './probabilities.js';

export interface LambdaDevItem {
  fusion: FusionCase;
  text: string;
  gold: readonly Entity[];
}

export interface LambdaPoint {
  lambda: number;
  f1: number;
  /** Tokens the LLM decided at this lambda, over the whole dev set. */
  llmTokens: number;
}

export interface LambdaGuardResult {
  /** The better system alone, which the best pair was tested against. */
  against: 'slm' | 'llm';
  /** Its dev F1. */
  againstF1: number;
  /** Share of bootstrap resamples in which the best pair scored strictly above it. */
  winShare: number;
  /** False when that system was chosen instead of the best pair. */
  kept: boolean;
}

export interface LambdaPair {
  lambda: number;
  lambdaOutside: number;
  f1: number;
}

export interface LambdaSearchResult {
  /** The lambdas chosen, and the dev F1 they give. */
  lambda: number;
  lambdaOutside: number;
  f1: number;
  /** First stage: every lambda tried (no SLM entity removed), by increasing lambda. */
  curve: LambdaPoint[];
  /** Second stage: every lambdaOutside tried at the first stage's lambda (`lambda` holds it). */
  outsideCurve: LambdaPoint[];
  /** The best pair on dev (the chosen one unless the guard stepped in). */
  best: LambdaPair;
  /** Set when the best pair beat both systems alone on dev and was tested. */
  guard?: LambdaGuardResult;
}

export interface LambdaGuardOptions {
  /** Default 1000. */
  resamples?: number;
  /** Default 0.95. */
  minWinShare?: number;
  /** Seed of the resampling. Default 1. */
  seed?: number;
}

export interface LambdaSearchOptions {
  kind: ProbabilityKind;
  scheme: TagScheme;
  /** Evaluate exactly these values instead of the threshold intervals. */
  grid?: readonly number[];
  /** Default 400. */
  maxCandidates?: number;
  /** The bootstrap guard (on by default, not used with a grid); false takes the best dev F1 as it is. */
  guard?: LambdaGuardOptions | false;
}

/** Strict counts per dev document at one lambda pair, with the tokens the LLM decided. */
function documentCounts(
  items: readonly LambdaDevItem[],
  lambda: number,
  lambdaOutside: number,
  kind: ProbabilityKind,
  scheme: TagScheme,
  plans: readonly FusionPlan[],
): { perDocument: Counts[]; llmTokens: number } {
  let llmTokens = 0;
  const perDocument = items.map((item, k) => {
    const r = applyPlan(plans[k], item.fusion, lambda, kind, scheme, lambdaOutside);
    llmTokens += r.counts.llm;
    const pred = entitiesFromSpans(item.text, item.fusion.tokens, r.spans);
    return countDocument(item.gold, pred).total;
  });
  return { perDocument, llmTokens };
}

function sumCounts(cs: readonly Counts[]): Counts {
  return cs.reduce((total, c) => addCounts(total, c), zeroCounts());
}

/** Dev F1 at one lambda (and `lambdaOutside`, the same unless given). */
export function evaluateLambda(
  items: readonly LambdaDevItem[],
  lambda: number,
  kind: ProbabilityKind,
  scheme: TagScheme,
  plans: readonly FusionPlan[] = items.map((item) => planFusion(item.fusion, kind)),
  lambdaOutside = lambda,
): LambdaPoint {
  const { perDocument, llmTokens } = documentCounts(items, lambda, lambdaOutside, kind, scheme, plans);
  return { lambda, f1: prf(sumCounts(perDocument)).f1, llmTokens };
}

/**
 * The lambda thresholds at which some dev conflict (of the given kinds, default all) switches
 * from the SLM to the LLM, sorted, distinct.
 */
export function lambdaThresholds(
  items: readonly LambdaDevItem[],
  kind: ProbabilityKind,
  plans: readonly FusionPlan[] = items.map((item) => planFusion(item.fusion, kind)),
  kinds?: readonly DecisionKind[],
): number[] {
  const out = new Set<number>();
  for (const plan of plans) {
    for (const d of plan.decisions) {
      if (d.threshold !== undefined && (!kinds || kinds.includes(d.kind))) out.add(d.threshold);
    }
  }
  return [...out].sort((a, b) => a - b);
}

function candidates(thresholds: readonly number[], max: number): number[] {
  let ts = thresholds;
  if (ts.length > max) {
    const picked: number[] = [];
    for (let q = 0; q < max; q++) picked.push(ts[Math.round((q * (ts.length - 1)) / (max - 1))]);
    ts = [...new Set(picked)];
  }
  if (ts.length === 0) return [1];
  const out: number[] = [];
  if (ts[0] > 0) out.push(ts[0] / 2);
  for (let i = 0; i + 1 < ts.length; i++) out.push((ts[i] + ts[i + 1]) / 2);
  const last = ts[ts.length - 1];
  out.push(last > 0 ? last * 1.5 : 1);
  return out.filter((l) => l > 0);
}

function argmax(curve: readonly LambdaPoint[]): LambdaPoint {
  let best = curve[0];
  for (const pt of curve) if (pt.f1 > best.f1) best = pt;
  return best;
}

const PAPER_KINDS: readonly DecisionKind[] = ['type', 'boundary', 'llmOnly'];

export function searchLambda(
  items: readonly LambdaDevItem[],
  options: LambdaSearchOptions,
): LambdaSearchResult {
  const { kind, scheme } = options;
  const plans = items.map((item) => planFusion(item.fusion, kind));
  const max = options.maxCandidates ?? 400;
  const grid = options.grid ? [...options.grid].filter((l) => l > 0).sort((a, b) => a - b) : undefined;
  const stage = (kinds: readonly DecisionKind[]) =>
    grid ?? candidates(lambdaThresholds(items, kind, plans, kinds), max);
  const first = stage(PAPER_KINDS);
  if (first.length === 0) throw new Error('lambda search: no positive lambda to try');
  // No removal at all in the first stage: every removal threshold is >= 0.
  const curve = first.map((l) => evaluateLambda(items, l, kind, scheme, plans, 0));
  const lambda = argmax(curve).lambda;
  const outsideCurve = stage(['slmOnly']).map((lo) => ({
    ...evaluateLambda(items, lambda, kind, scheme, plans, lo),
    lambda: lo,
  }));
  const outside = argmax(outsideCurve);
  const best: LambdaPair = { lambda, lambdaOutside: outside.lambda, f1: outside.f1 };
  const result = { curve, outsideCurve, best };
  // A grid asks for those values: the guard only oversees the threshold search.
  if (options.guard === false || grid) return { ...best, ...result };

  // The two systems alone: both lambdas below every threshold, or above every threshold.
  const all = lambdaThresholds(items, kind, plans);
  const low = all.length === 0 ? 1 : all[0] > 0 ? all[0] / 2 : Number.MIN_VALUE;
  const high = all.length === 0 ? 1 : all[all.length - 1] > 0 ? all[all.length - 1] * 1.5 : 1;
  const counts = (l: number, lo: number) => documentCounts(items, l, lo, kind, scheme, plans).perDocument;
  const slm = counts(low, low);
  const llm = counts(high, high);
  const f1 = (cs: Counts[]) => prf(sumCounts(cs)).f1;
  const llmBetter = f1(llm) > f1(slm);
  const end: LambdaPair = llmBetter
    ? { lambda: high, lambdaOutside: high, f1: f1(llm) }
    : { lambda: low, lambdaOutside: low, f1: f1(slm) };
  if (best.f1 < end.f1) return { ...end, ...result };
  if (best.f1 === end.f1) return { ...best, ...result };
  const winShare = bootstrapWinShare(
    counts(best.lambda, best.lambdaOutside),
    llmBetter ? llm : slm,
    options.guard ?? {},
  );
  const kept = winShare >= (options.guard?.minWinShare ?? 0.95);
  const guard: LambdaGuardResult = { against: llmBetter ? 'llm' : 'slm', againstF1: end.f1, winShare, kept };
  return { ...(kept ? best : end), ...result, guard };
}

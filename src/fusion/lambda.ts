/**
 * Choosing lambda on a dev set from cached SLM marginals and LLM answers (no model calls).
 *
 * The LLM wins a conflict exactly when lambda > S_S / e^P (see fuse.ts), so strict micro-F1 is
 * a step function of lambda that only changes at those thresholds. The default
 * search evaluates one lambda inside every interval between consecutive distinct thresholds
 * (plus one below all and one above all), which finds the true optimum; golden-section search
 * would assume a unimodal curve, which this is not. With more than `maxCandidates` distinct
 * thresholds, intervals are taken between evenly spaced quantiles of them (approximate).
 * A `grid` evaluates just the given values instead. Ties go to the smaller lambda (more trust
 * in the SLM).
 *
 * The guard: the best lambda on dev is an argmax over many candidates, and on a small or shifted
 * dev set it often wins by chance. Unless it beats the better of the curve's two ends (the
 * smallest lambda: the SLM alone; the largest: the LLM wherever it has a probability) in at least
 * `minWinShare` of paired bootstrap resamples of the dev documents, that end is chosen instead.
 * So fusion moves away from the better single system only where the dev data clearly says so.
 */
import type { Entity, TagScheme } from '../core/types.js';
import { type Counts, prf, zeroCounts } from '../eval/prf.js';
import { countDocument } from '../eval/strict.js';
import { applyPlan, entitiesFromSpans, type FusionCase, type FusionPlan, planFusion } from './fuse.js';
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
  /** The end of the curve the best point was tested against: the SLM alone or the LLM's side. */
  against: 'slm' | 'llm';
  /** Share of bootstrap resamples in which the best point scored strictly above that end. */
  winShare: number;
  /** False when the end was chosen instead of the best point. */
  kept: boolean;
}

export interface LambdaSearchResult {
  /** The lambda chosen, and its dev F1. */
  lambda: number;
  f1: number;
  /** Every lambda tried, by increasing lambda. */
  curve: LambdaPoint[];
  /** The lambda with the best dev F1 (the chosen one unless the guard stepped in). */
  best: LambdaPoint;
  /** Set when the best point lies strictly inside the curve and was tested. */
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
  /** The bootstrap guard (on by default); false takes the best dev F1 as it is. */
  guard?: LambdaGuardOptions | false;
}

/** Strict counts per dev document at one lambda, with the tokens the LLM decided. */
function documentCounts(
  items: readonly LambdaDevItem[],
  lambda: number,
  kind: ProbabilityKind,
  scheme: TagScheme,
  plans: readonly FusionPlan[],
): { perDocument: Counts[]; llmTokens: number } {
  let llmTokens = 0;
  const perDocument = items.map((item, k) => {
    const r = applyPlan(plans[k], item.fusion, lambda, kind, scheme);
    llmTokens += r.counts.llm;
    const pred = entitiesFromSpans(item.text, item.fusion.tokens, r.spans);
    return countDocument(item.gold, pred).total;
  });
  return { perDocument, llmTokens };
}

function sumCounts(cs: readonly Counts[]): Counts {
  const total = zeroCounts();
  for (const c of cs) {
    total.tp += c.tp;
    total.fp += c.fp;
    total.fn += c.fn;
  }
  return total;
}

export function evaluateLambda(
  items: readonly LambdaDevItem[],
  lambda: number,
  kind: ProbabilityKind,
  scheme: TagScheme,
  plans: readonly FusionPlan[] = items.map((item) => planFusion(item.fusion, kind)),
): LambdaPoint {
  const { perDocument, llmTokens } = documentCounts(items, lambda, kind, scheme, plans);
  return { lambda, f1: prf(sumCounts(perDocument)).f1, llmTokens };
}

/** mulberry32: a small seeded generator, so the guard gives the same answer every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Share of paired bootstrap resamples (over documents) in which `a` scores strictly above `b`. */
export function bootstrapWinShare(
  a: readonly Counts[],
  b: readonly Counts[],
  options: { resamples?: number; seed?: number } = {},
): number {
  const n = a.length;
  if (n === 0) return 0;
  const resamples = options.resamples ?? 1000;
  const next = random(options.seed ?? 1);
  const f1 = (tp: number, fp: number, fn: number) => (tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn));
  let wins = 0;
  for (let r = 0; r < resamples; r++) {
    let atp = 0;
    let afp = 0;
    let afn = 0;
    let btp = 0;
    let bfp = 0;
    let bfn = 0;
    for (let k = 0; k < n; k++) {
      const i = Math.floor(next() * n);
      atp += a[i].tp;
      afp += a[i].fp;
      afn += a[i].fn;
      btp += b[i].tp;
      bfp += b[i].fp;
      bfn += b[i].fn;
    }
    if (f1(atp, afp, afn) > f1(btp, bfp, bfn)) wins++;
  }
  return wins / resamples;
}

/** The lambda thresholds at which some dev conflict switches from the SLM to the LLM, sorted, distinct. */
export function lambdaThresholds(
  items: readonly LambdaDevItem[],
  kind: ProbabilityKind,
  plans: readonly FusionPlan[] = items.map((item) => planFusion(item.fusion, kind)),
): number[] {
  const out = new Set<number>();
  for (const plan of plans) {
    for (const d of plan.decisions) if (d.threshold !== undefined) out.add(d.threshold);
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

export function searchLambda(
  items: readonly LambdaDevItem[],
  options: LambdaSearchOptions,
): LambdaSearchResult {
  const plans = items.map((item) => planFusion(item.fusion, options.kind));
  const lambdas = options.grid
    ? [...options.grid].filter((l) => l > 0).sort((a, b) => a - b)
    : candidates(lambdaThresholds(items, options.kind, plans), options.maxCandidates ?? 400);
  if (lambdas.length === 0) throw new Error('lambda search: no positive lambda to try');
  const curve = lambdas.map((l) => evaluateLambda(items, l, options.kind, options.scheme, plans));
  let best = curve[0];
  for (const pt of curve) if (pt.f1 > best.f1) best = pt;
  const first = curve[0];
  const last = curve[curve.length - 1];
  if (options.guard === false || best === first || best === last) {
    return { lambda: best.lambda, f1: best.f1, curve, best };
  }
  const end = last.f1 > first.f1 ? last : first;
  const counts = (l: number) => documentCounts(items, l, options.kind, options.scheme, plans).perDocument;
  const winShare = bootstrapWinShare(counts(best.lambda), counts(end.lambda), options.guard ?? {});
  const kept = winShare >= (options.guard?.minWinShare ?? 0.95);
  const chosen = kept ? best : end;
  const guard: LambdaGuardResult = { against: end === first ? 'slm' : 'llm', winShare, kept };
  return { lambda: chosen.lambda, f1: chosen.f1, curve, best, guard };
}

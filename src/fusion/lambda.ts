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
 */
import type { Entity, TagScheme } from '../core/types.js';
import { prf, zeroCounts } from '../eval/prf.js';
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

export interface LambdaSearchResult {
  lambda: number;
  f1: number;
  /** Every lambda tried, by increasing lambda. */
  curve: LambdaPoint[];
}

export interface LambdaSearchOptions {
  kind: ProbabilityKind;
  scheme: TagScheme;
  /** Evaluate exactly these values instead of the threshold intervals. */
  grid?: readonly number[];
  /** Default 400. */
  maxCandidates?: number;
}

export function evaluateLambda(
  items: readonly LambdaDevItem[],
  lambda: number,
  kind: ProbabilityKind,
  scheme: TagScheme,
  plans: readonly FusionPlan[] = items.map((item) => planFusion(item.fusion, kind)),
): LambdaPoint {
  const total = zeroCounts();
  let llmTokens = 0;
  for (const [k, item] of items.entries()) {
    const r = applyPlan(plans[k], item.fusion, lambda, kind, scheme);
    llmTokens += r.counts.llm;
    const pred = entitiesFromSpans(item.text, item.fusion.tokens, r.spans);
    const c = countDocument(item.gold, pred).total;
    total.tp += c.tp;
    total.fp += c.fp;
    total.fn += c.fn;
  }
  return { lambda, f1: prf(total).f1, llmTokens };
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
  return { lambda: best.lambda, f1: best.f1, curve };
}

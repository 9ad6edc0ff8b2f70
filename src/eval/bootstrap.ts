/**
 * Percentile bootstrap confidence interval for the strict micro F1: documents are resampled
 * with replacement (as many as there are), micro F1 is recomputed from the resampled
 * documents' summed counts, and the 2.5 and 97.5 percentiles (linear interpolation, numpy's
 * default) of the resampled F1 values form the 95% interval.
 */

import { mulberry32 } from '../core/random.js';
import type { Counts } from './prf.js';

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** PRNG seed (default 42). */
  seed?: number;
  /** Confidence level (default 0.95). */
  level?: number;
}

export interface BootstrapResult {
  f1_low: number;
  f1_high: number;
  /** Number of resamples. */
  n: number;
  seed: number;
  level: number;
}

export const DEFAULT_BOOTSTRAP_RESAMPLES = 1000;
export const DEFAULT_BOOTSTRAP_SEED = 42;

/** Linear-interpolation quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The options with their defaults, checked. */
function settings(options: BootstrapOptions): Required<BootstrapOptions> {
  const resamples = options.resamples ?? DEFAULT_BOOTSTRAP_RESAMPLES;
  const level = options.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 0)
    throw new RangeError(`bootstrap resamples must be a non-negative integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`confidence level must be in (0, 1), got ${level}`);
  return { resamples, seed: options.seed ?? DEFAULT_BOOTSTRAP_SEED, level };
}

/** Returns null when there is nothing to resample (no documents or no resamples). */
export function bootstrapMicroF1(
  perDocument: readonly Counts[],
  options: BootstrapOptions = {},
): BootstrapResult | null {
  const { resamples: n, seed, level } = settings(options);
  const docs = perDocument.length;
  if (n === 0 || docs === 0) return null;
  const random = mulberry32(seed);
  const f1s = new Float64Array(n);
  for (let b = 0; b < n; b++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let k = 0; k < docs; k++) {
      const c = perDocument[Math.floor(random() * docs)];
      tp += c.tp;
      fp += c.fp;
      fn += c.fn;
    }
    const den = 2 * tp + fp + fn;
    f1s[b] = den === 0 ? 0 : (2 * tp) / den;
  }
  const sorted = Array.from(f1s).sort((a, b) => a - b);
  const alpha = (1 - level) / 2;
  return { f1_low: quantile(sorted, alpha), f1_high: quantile(sorted, 1 - alpha), n, seed, level };
}

export interface PairedBootstrapResult {
  /** Share of the resamples in which `a`'s micro F1 is strictly above `b`'s. */
  win_share: number;
  /** The interval of micro F1(a) − F1(b) over the resamples, at `level`. */
  delta_low: number;
  delta_high: number;
  n: number;
  seed: number;
  level: number;
}

/**
 * Paired bootstrap of two systems scored on the same documents (`a[i]` and `b[i]` are one
 * document's counts): each resample draws documents with replacement and scores both systems on
 * the same draw, so what the documents share (hard ones, easy ones) cancels out of the difference.
 * Null when there is nothing to resample.
 */
export function pairedBootstrap(
  a: readonly Counts[],
  b: readonly Counts[],
  options: BootstrapOptions = {},
): PairedBootstrapResult | null {
  if (a.length !== b.length)
    throw new RangeError(
      `paired bootstrap needs the same documents on both sides (${a.length} and ${b.length})`,
    );
  const { resamples, seed, level } = settings(options);
  const n = a.length;
  if (n === 0 || resamples === 0) return null;
  const next = mulberry32(seed);
  const f1 = (tp: number, fp: number, fn: number) => (tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn));
  const deltas = new Float64Array(resamples);
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
    const fa = f1(atp, afp, afn);
    const fb = f1(btp, bfp, bfn);
    deltas[r] = fa - fb;
    if (fa > fb) wins++;
  }
  const sorted = Array.from(deltas).sort((x, y) => x - y);
  const alpha = (1 - level) / 2;
  return {
    win_share: wins / resamples,
    delta_low: quantile(sorted, alpha),
    delta_high: quantile(sorted, 1 - alpha),
    n: resamples,
    seed,
    level,
  };
}

/** Share of paired bootstrap resamples (over documents) in which `a` scores strictly above `b`. */
export function bootstrapWinShare(
  a: readonly Counts[],
  b: readonly Counts[],
  options: { resamples?: number; seed?: number } = {},
): number {
  if (a.length === 0) return 0;
  return (
    pairedBootstrap(a, b, { resamples: options.resamples ?? 1000, seed: options.seed ?? 1 })?.win_share ?? 0
  );
}

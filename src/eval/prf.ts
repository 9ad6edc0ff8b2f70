/** Precision, recall and F1 from counts. A zero denominator gives 0 (seqeval / scikit-learn `zero_division=0`). */
export interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

export interface Prf {
  p: number;
  r: number;
  f1: number;
}

export function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

export function f1Of(p: number, r: number): number {
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
}

export function prf(c: Counts): Prf {
  const p = ratio(c.tp, c.tp + c.fp);
  const r = ratio(c.tp, c.tp + c.fn);
  return { p, r, f1: f1Of(p, r) };
}

export function addCounts(into: Counts, c: Counts): Counts {
  into.tp += c.tp;
  into.fp += c.fp;
  into.fn += c.fn;
  return into;
}

export function zeroCounts(): Counts {
  return { tp: 0, fp: 0, fn: 0 };
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

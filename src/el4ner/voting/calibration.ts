/**
 * A calibrated entity score: the probability that a decided entity is correct (span and type),
 * from the evidence of its votes and the verifier, by a logistic model fitted on dev data
 * (`el4ner tune` fits it and writes it to config `decision.calibration`).
 *
 * Features of one candidate entity (unit votes, whatever the configured vote weights; a soft vote
 * counts with the probabilities it gave, a hard one with 1 for what it wrote):
 * - `bias` (1), `entityShare` (voters that gave it a type / voters that answered), `typeShare`
 *   (voters that gave it this type / voters that answered), `agreement` (this type / entity votes),
 *   `abstained` (share of the asked voters that gave no answer);
 * - per voter `type:<voter>` (it voted this type) and `none:<voter>` (it voted none): the model
 *   learns how much an entity vote and a 'none' vote of each voter is worth, separately (a
 *   precise, low-recall voter's 'none' is weak evidence; its entity vote strong);
 * - `verdict` (+1 yes, -1 no, 0 not asked or unanswered);
 * - `overlap` (1 when the span overlaps another candidate of its chunk);
 * - `label:<TYPE>` (one-hot of the type).
 * A feature the model has no weight for counts 0, so a model fitted with other voters still runs.
 *
 * The fit is L2-regularised logistic regression by Newton's method (IRLS): a handful of features
 * and a few thousand examples, exact and deterministic in a few iterations.
 */
import { NONE_TYPE } from '../../core/types.js';
import { type Vote, voteMass } from './decide.js';

export type Features = Record<string, number>;

export interface CalibrationModel {
  /** Weight per feature name; `bias` is the intercept. */
  weights: Record<string, number>;
}

export interface CandidateEvidence {
  type: string;
  votes: readonly Vote[];
  /** Every voter asked to type the span. */
  voters: readonly string[];
  /** The verifier's answer: true yes, false no, undefined not asked / no answer. */
  verdict?: boolean;
  overlaps: boolean;
}

export function candidateFeatures(c: CandidateEvidence): Features {
  // Per voter, the probability it gave this type and 'none' (a hard vote: 1 for what it wrote).
  const forType = new Map<string, number>();
  const forNone = new Map<string, number>();
  for (const v of c.votes) {
    for (const [type, p] of voteMass(v)) {
      if (type === c.type) forType.set(v.voter, (forType.get(v.voter) ?? 0) + p);
      else if (type === NONE_TYPE) forNone.set(v.voter, (forNone.get(v.voter) ?? 0) + p);
    }
  }
  const answered = new Set(c.votes.map((v) => v.voter));
  const n = answered.size;
  const sum = (m: ReadonlyMap<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const entity = n - sum(forNone);
  const typed = sum(forType);
  const f: Features = {
    bias: 1,
    entityShare: n ? entity / n : 0,
    typeShare: n ? typed / n : 0,
    agreement: entity > 1e-12 ? Math.min(1, typed / entity) : 0,
    abstained: c.voters.length ? c.voters.filter((v) => !answered.has(v)).length / c.voters.length : 0,
    verdict: c.verdict === undefined ? 0 : c.verdict ? 1 : -1,
    overlap: c.overlaps ? 1 : 0,
    [`label:${c.type}`]: 1,
  };
  for (const [voter, p] of forType) if (p > 0) f[`type:${voter}`] = p;
  for (const [voter, p] of forNone) if (p > 0) f[`none:${voter}`] = p;
  return f;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-Math.max(-35, Math.min(35, z))));

export function calibratedScore(model: CalibrationModel, f: Features): number {
  let z = 0;
  for (const [k, x] of Object.entries(f)) z += (model.weights[k] ?? 0) * x;
  return sigmoid(z);
}

export interface FitOptions {
  /** L2 penalty on every weight but the bias (default 1). */
  l2?: number;
  maxIterations?: number;
}

/** Solves A x = b (A square, positive definite here) by Gaussian elimination with pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const pivot = m[c][c] || 1e-12;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const k = m[r][c] / pivot;
      if (k !== 0) for (let j = c; j <= n; j++) m[r][j] -= k * m[c][j];
    }
  }
  return m.map((row, i) => row[n] / (row[i] || 1e-12));
}

/** Fits the logistic model to examples (features, correct or not). */
export function fitCalibration(
  examples: ReadonlyArray<{ features: Features; correct: boolean }>,
  opts: FitOptions = {},
): CalibrationModel {
  const l2 = opts.l2 ?? 1;
  const names = [...new Set(examples.flatMap((e) => Object.keys(e.features)))].sort((a, b) =>
    a === 'bias' ? -1 : b === 'bias' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  const d = names.length;
  const rows = examples.map((e) => names.map((k) => e.features[k] ?? 0));
  const y = examples.map((e) => (e.correct ? 1 : 0));
  let w = new Array<number>(d).fill(0);
  for (let it = 0; it < (opts.maxIterations ?? 50); it++) {
    const g = new Array<number>(d).fill(0);
    const h = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    rows.forEach((x, i) => {
      let z = 0;
      for (let j = 0; j < d; j++) z += x[j] * w[j];
      const p = sigmoid(z);
      const s = p * (1 - p);
      for (let j = 0; j < d; j++) {
        if (x[j] === 0) continue;
        g[j] += (p - y[i]) * x[j];
        for (let k = 0; k < d; k++) if (x[k] !== 0) h[j][k] += s * x[j] * x[k];
      }
    });
    for (let j = 0; j < d; j++) {
      const pen = names[j] === 'bias' ? 1e-6 : l2;
      g[j] += pen * w[j];
      h[j][j] += pen;
    }
    const step = solve(h, g);
    w = w.map((v, j) => v - step[j]);
    if (Math.max(0, ...step.map(Math.abs)) < 1e-9) break;
  }
  const round = (x: number) => Math.round(x * 1e5) / 1e5;
  return { weights: Object.fromEntries(names.map((k, j) => [k, round(w[j])])) };
}

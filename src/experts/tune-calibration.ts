/**
 * The calibrated entity score `el4ner tune` fits: a logistic model over the candidates of one run
 * (voting/calibration.ts), cross-fitted in two folds so that its F1 and its threshold are measured
 * on answers it was not fitted on.
 */
import type { Entity, NerDocument } from '../core/types.js';
import { type Features, fitCalibration } from '../el4ner/voting/calibration.js';
import { type OverlapPolicy, resolveOverlaps } from '../el4ner/voting/overlaps.js';
import { addCounts, type Counts, prf, zeroCounts } from '../eval/prf.js';
import { countDocument } from '../eval/strict.js';

export type Scored = Entity & { features: Features };

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

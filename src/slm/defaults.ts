/**
 * The default training recipe (what `train-slm` and the benchmark use unless told otherwise), in a
 * module of its own so the CLI can show it in its help without loading the CRF.
 */
export const DEFAULT_TRAIN: {
  c2: number;
  /** L-BFGS iterations at most; with a dev set, `patience` usually ends training sooner. */
  maxIterations: number;
  /** With a dev set: iterations without a dev F1 gain before training stops. */
  patience: number;
  evalEvery: number;
  clusterSources: readonly ('glove' | 'text')[];
} = { c2: 0.05, maxIterations: 300, patience: 100, evalEvery: 10, clusterSources: ['glove', 'text'] };

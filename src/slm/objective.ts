/** The L2-regularised CRF negative log-likelihood over a set of encoded sentences. */
import { type CrfShape, CrfWorkspace, type EncodedSentence, sentenceNllGrad } from './crf.js';

/** Sum of -log p(gold) over the sentences; the gradient is added into g (not cleared). */
export function shardNllGrad(
  w: Float64Array,
  shape: CrfShape,
  sentences: readonly EncodedSentence[],
  g: Float64Array,
  ws?: CrfWorkspace,
): number {
  const work = ws ?? new CrfWorkspace(shape.numLabels);
  work.prepareTransitions(w, shape);
  let total = 0;
  for (const s of sentences) total += sentenceNllGrad(w, shape, s, work, g);
  return total;
}

/** Adds c2 * ||w||^2 to the value and 2 c2 w to the gradient. */
export function addL2(w: Float64Array, g: Float64Array, c2: number): number {
  if (c2 === 0) return 0;
  let norm = 0;
  for (let i = 0; i < w.length; i++) {
    const v = w[i];
    norm += v * v;
    g[i] += 2 * c2 * v;
  }
  return c2 * norm;
}

export interface GradientEngine {
  /** Writes the full gradient into g and returns the objective value. */
  evaluate(w: Float64Array, g: Float64Array): Promise<number>;
  close(): Promise<void>;
}

export class LocalGradient implements GradientEngine {
  private readonly ws: CrfWorkspace;
  constructor(
    private readonly shape: CrfShape,
    private readonly sentences: readonly EncodedSentence[],
    private readonly c2: number,
  ) {
    this.ws = new CrfWorkspace(shape.numLabels);
  }

  async evaluate(w: Float64Array, g: Float64Array): Promise<number> {
    g.fill(0);
    const nll = shardNllGrad(w, this.shape, this.sentences, g, this.ws);
    return nll + addL2(w, g, this.c2);
  }

  async close(): Promise<void> {}
}

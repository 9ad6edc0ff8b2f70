/** The L2-regularised CRF negative log-likelihood over a set of encoded sentences. */
import { Worker } from 'node:worker_threads';
import { type CrfShape, CrfWorkspace, type EncodedSentence, paramCount, sentenceNllGrad } from './crf.js';

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

/**
 * Splits the sentences into `threads` shards: the calling thread computes one, worker threads
 * the others, on shared memory (weights and per-worker gradients are SharedArrayBuffers).
 */
export class ParallelGradient implements GradientEngine {
  private readonly local: EncodedSentence[];
  private readonly ws: CrfWorkspace;
  private readonly workers: Worker[] = [];
  private readonly sharedW: Float64Array;
  private readonly sharedG: Float64Array[] = [];

  private constructor(
    private readonly shape: CrfShape,
    private readonly c2: number,
    shards: EncodedSentence[][],
    entry: string | URL,
  ) {
    const n = paramCount(shape);
    this.local = shards[0];
    this.ws = new CrfWorkspace(shape.numLabels);
    const wBuf = new SharedArrayBuffer(n * 8);
    this.sharedW = new Float64Array(wBuf);
    for (let i = 1; i < shards.length; i++) {
      const gBuf = new SharedArrayBuffer(n * 8);
      this.sharedG.push(new Float64Array(gBuf));
      this.workers.push(
        new Worker(entry, {
          workerData: { shape, sentences: shards[i], w: wBuf, g: gBuf },
          eval: typeof entry === 'string',
        }),
      );
    }
  }

  static create(
    shape: CrfShape,
    sentences: readonly EncodedSentence[],
    c2: number,
    threads: number,
  ): ParallelGradient {
    // Balance shards by token count.
    const shards: EncodedSentence[][] = Array.from({ length: threads }, () => []);
    const load = new Float64Array(threads);
    const order = [...sentences].sort((a, b) => b.n - a.n);
    for (const s of order) {
      let k = 0;
      for (let i = 1; i < threads; i++) if (load[i] < load[k]) k = i;
      shards[k].push(s);
      load[k] += s.n;
    }
    const self = import.meta.url;
    let entry: string | URL;
    if (self.endsWith('.ts')) {
      // Under tsx (development) the worker registers the TypeScript loader before loading its module.
      const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
      const mod = JSON.stringify(new URL('./grad-worker.ts', self).href);
      entry = `import(${api}).then((m) => { m.register(); return import(${mod}); });`;
    } else entry = new URL('./grad-worker.js', self);
    return new ParallelGradient(shape, c2, shards, entry);
  }

  async evaluate(w: Float64Array, g: Float64Array): Promise<number> {
    this.sharedW.set(w);
    const pending = this.workers.map(
      (worker) =>
        new Promise<number>((resolve, reject) => {
          const onMessage = (msg: { nll?: number; error?: string }) => {
            worker.off('error', onError);
            if (msg.error !== undefined) reject(new Error(`gradient worker: ${msg.error}`));
            else resolve(msg.nll as number);
          };
          const onError = (err: Error) => {
            worker.off('message', onMessage);
            reject(err);
          };
          worker.once('message', onMessage);
          worker.once('error', onError);
          worker.postMessage(0);
        }),
    );
    g.fill(0);
    let total = shardNllGrad(w, this.shape, this.local, g, this.ws);
    const parts = await Promise.all(pending);
    for (let k = 0; k < parts.length; k++) {
      total += parts[k];
      const gk = this.sharedG[k];
      for (let i = 0; i < g.length; i++) g[i] += gk[i];
    }
    return total + addL2(w, g, this.c2);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Approximate SpanSim for dense span vectors (embedding models), with an HNSW graph from the
 * `usearch` package (an optional dependency with prebuilt binaries; see docs/dependencies.md).
 *
 * For each query span the graph gives the `candidates` nearest distinct span vectors; every pool
 * sentence holding one of them is a candidate, and each candidate is then scored with the exact
 * SpanSim over all its spans (float64, as the exact scan does). A true top-k sentence can only be
 * missed when none of its spans is among the candidates of any query span, so recall rises with
 * `candidates` and the graph's search breadth (bench/retrieval.ts measures it against the scan).
 * The lexical embedder does not need this: its posting lists are exact and faster.
 */
import { availableParallelism } from 'node:os';
import type { ScoredIndex, SpanTable } from './span-sim.js';
import type { DenseStore } from './vectors.js';

export interface AnnOptions {
  /** Graph degree (HNSW M). */
  connectivity?: number;
  /** Search breadth while building. */
  expansionAdd?: number;
  /** Search breadth per query (at least `candidates`). */
  expansionSearch?: number;
  /** Nearest distinct span vectors taken per query span. */
  candidates?: number;
}

export const ANN_DEFAULTS: Required<AnnOptions> = {
  connectivity: 16,
  expansionAdd: 128,
  expansionSearch: 128,
  candidates: 64,
};

type Usearch = typeof import('usearch');
type UsearchIndex = InstanceType<Usearch['Index']>;

async function loadUsearch(): Promise<Usearch> {
  try {
    const m = (await import('usearch')) as Usearch & { default?: Usearch };
    return m.default ?? m;
  } catch (err) {
    throw new Error(
      `the approximate index needs the optional package 'usearch' (npm install usearch): ${(err as Error).message}`,
    );
  }
}

/** An empty HNSW graph with the settings both `build` and `view` must agree on. */
async function emptyGraph(dim: number, o: Required<AnnOptions>) {
  const { Index } = await loadUsearch();
  return new Index({
    dimensions: dim,
    metric: 'ip' as never,
    quantization: 'f32' as never,
    connectivity: o.connectivity,
    expansion_add: o.expansionAdd,
    expansion_search: Math.max(o.expansionSearch, o.candidates),
    multi: false,
  });
}

export class ApproximateSpanSim {
  private readonly sentSpanPtr: Int32Array;
  private readonly rowSentPtr: Int32Array;
  private readonly rowSents: Int32Array;
  // Per-query scratch: dot products cached per (row, query span), stamped to avoid clearing.
  private readonly dotStamp: Int32Array;
  private dots = new Float64Array(0);
  private readonly sentStamp: Int32Array;
  private stamp = 0;
  private maxM = 0;

  private constructor(
    private readonly graph: UsearchIndex,
    private readonly store: DenseStore,
    private readonly table: SpanTable,
    readonly options: Required<AnnOptions>,
  ) {
    const { spanSentence, spanVector, sentences } = table;
    // Sentence -> its spans (spanSentence is non-decreasing).
    this.sentSpanPtr = new Int32Array(sentences + 1);
    for (let j = 0; j < spanSentence.length; j++) this.sentSpanPtr[spanSentence[j] + 1]++;
    for (let s = 0; s < sentences; s++) this.sentSpanPtr[s + 1] += this.sentSpanPtr[s];
    // Row -> sentences using it.
    this.rowSentPtr = new Int32Array(store.rows + 1);
    for (let j = 0; j < spanVector.length; j++) this.rowSentPtr[spanVector[j] + 1]++;
    for (let r = 0; r < store.rows; r++) this.rowSentPtr[r + 1] += this.rowSentPtr[r];
    const fill = this.rowSentPtr.slice(0, store.rows);
    this.rowSents = new Int32Array(spanVector.length);
    for (let j = 0; j < spanVector.length; j++) this.rowSents[fill[spanVector[j]]++] = spanSentence[j];
    this.dotStamp = new Int32Array(store.rows);
    this.sentStamp = new Int32Array(sentences);
  }

  /** Builds the graph over the distinct span vectors (all cores by default). */
  static async build(
    store: DenseStore,
    table: SpanTable,
    opts: AnnOptions = {},
    threads = availableParallelism(),
  ): Promise<ApproximateSpanSim> {
    const o = { ...ANN_DEFAULTS, ...opts };
    const graph = await emptyGraph(store.dim, o);
    if (store.rows > 0) {
      const keys = new BigUint64Array(store.rows);
      for (let r = 0; r < store.rows; r++) keys[r] = BigInt(r);
      graph.add(keys, store.data, threads);
    }
    return new ApproximateSpanSim(graph, store, table, o);
  }

  /** Loads a graph saved by `save`, memory-mapped (`view`): nothing is read until searched. */
  static async view(
    path: string,
    store: DenseStore,
    table: SpanTable,
    opts: AnnOptions = {},
  ): Promise<ApproximateSpanSim> {
    const o = { ...ANN_DEFAULTS, ...opts };
    const graph = await emptyGraph(store.dim, o);
    graph.view(path);
    if (graph.size() !== store.rows)
      throw new Error(`${path}: ${graph.size()} vectors, the index has ${store.rows}`);
    return new ApproximateSpanSim(graph, store, table, o);
  }

  save(path: string): void {
    this.graph.save(path);
  }

  /** The k best sentences by SpanSim among the candidates the graph finds (scores exact). */
  topK(
    queryVectors: readonly Float32Array[],
    weights: ArrayLike<number>,
    k: number,
    exclude?: ReadonlySet<number>,
    candidates = this.options.candidates,
  ): ScoredIndex[] {
    const m = queryVectors.length;
    const { dim, data } = this.store;
    if (m === 0 || k <= 0 || this.store.rows === 0) return [];
    if (m > this.maxM) {
      this.maxM = m;
      this.dots = new Float64Array(this.store.rows * m);
    }
    const dots = this.dots;
    this.stamp++;
    const stamp = this.stamp;
    const stride = this.maxM;
    const dot = (row: number): number => {
      // Exact dot products of one row with every query span, cached for this query.
      if (this.dotStamp[row] !== stamp) {
        this.dotStamp[row] = stamp;
        const b = row * dim;
        for (let i = 0; i < m; i++) {
          const q = queryVectors[i];
          let d = 0;
          for (let t = 0; t < dim; t++) d += q[t] * data[b + t];
          dots[row * stride + i] = d;
        }
      }
      return row * stride;
    };
    const count = Math.min(candidates, this.store.rows);
    const sentences: number[] = [];
    for (let i = 0; i < m; i++) {
      const res = this.graph.search(queryVectors[i], count, 1);
      for (const key of res.keys) {
        const row = Number(key);
        for (let p = this.rowSentPtr[row]; p < this.rowSentPtr[row + 1]; p++) {
          const s = this.rowSents[p];
          if (this.sentStamp[s] !== stamp) {
            this.sentStamp[s] = stamp;
            if (!exclude?.has(s)) sentences.push(s);
          }
        }
      }
    }
    let wsum = 0;
    for (let i = 0; i < m; i++) wsum += weights[i];
    const inv = wsum > 0 ? 1 / wsum : 0;
    const { spanVector } = this.table;
    const scored: ScoredIndex[] = sentences.map((s) => {
      let acc = 0;
      for (let i = 0; i < m; i++) {
        let best = Number.NEGATIVE_INFINITY;
        for (let j = this.sentSpanPtr[s]; j < this.sentSpanPtr[s + 1]; j++) {
          const d = dots[dot(spanVector[j]) + i];
          if (d > best) best = d;
        }
        acc += weights[i] * best;
      }
      return { index: s, score: acc * inv };
    });
    scored.sort((a, b) => b.score - a.score || a.index - b.index);
    return scored.slice(0, k);
  }
}

/**
 * SpanSim (EL4NER):
 *   SpanSim(S, Sc) = Σ_{s∈S} w(s) · max_{c∈Sc} sim(s, c) / Σ_{s∈S} w(s)
 * for one query span set S against every pool sentence at once. All vectors are unit length, so
 * sim is a dot product. A pool sentence without spans has max over an empty set, taken as 0.
 *
 * The pool's distinct span vectors are the rows of one store (vectors.ts); pool spans point at
 * their row, so a span text repeated across the pool is scored once.
 * - Sparse store (the lexical embedder): each query span walks the posting lists of its own
 *   features, accumulating dot products of the rows it touches; rows it does not touch have a dot
 *   product of exactly 0. The work is the postings of the query's features, not rows × dim.
 * - Dense store (embedding models): a blocked scan, 8 rows at a time against each query span, so
 *   the rows are read from memory once and eight independent sums keep the CPU busy.
 * Each dot product is summed in increasing feature order in float64, the same order as a plain
 * row-by-row loop, so the scores are bit-for-bit those of the plain dense scan (the tests compare
 * against it).
 */
import { mulberry32 } from '../eval/random.js';
import type { DenseStore, SparseStore, VectorStore } from './vectors.js';

export interface ScoredIndex {
  index: number;
  score: number;
}

/** Pool spans and their vectors, as SpanSim needs them. */
export interface SpanTable {
  /** Distinct span vectors (rows). */
  vectors: VectorStore;
  /** Pool span -> row of `vectors`. */
  spanVector: Int32Array;
  /** Pool span -> pool sentence. */
  spanSentence: Int32Array;
  sentences: number;
}

function checkQuery(queryVectors: readonly Float32Array[], weights: ArrayLike<number>, dim: number): void {
  if (weights.length !== queryVectors.length) throw new Error('one weight per query span is needed');
  for (const v of queryVectors)
    if (v.length !== dim) throw new Error(`query vector has dimension ${v.length}, the index has ${dim}`);
}

/**
 * Dot products of every row of a dense row-major matrix with each query: out[r · m + i].
 * Eight rows per block, each summed in increasing t (the plain loop's order, hence its result).
 */
export function denseDots(
  data: Float32Array,
  rows: number,
  dim: number,
  queries: readonly Float32Array[],
  out = new Float64Array(rows * queries.length),
): Float64Array {
  const m = queries.length;
  let r = 0;
  for (; r + 8 <= rows; r += 8) {
    const b = r * dim;
    for (let i = 0; i < m; i++) {
      const q = queries[i];
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      let d4 = 0;
      let d5 = 0;
      let d6 = 0;
      let d7 = 0;
      for (let t = 0; t < dim; t++) {
        const x = q[t];
        const p = b + t;
        d0 += x * data[p];
        d1 += x * data[p + dim];
        d2 += x * data[p + 2 * dim];
        d3 += x * data[p + 3 * dim];
        d4 += x * data[p + 4 * dim];
        d5 += x * data[p + 5 * dim];
        d6 += x * data[p + 6 * dim];
        d7 += x * data[p + 7 * dim];
      }
      const o = r * m + i;
      out[o] = d0;
      out[o + m] = d1;
      out[o + 2 * m] = d2;
      out[o + 3 * m] = d3;
      out[o + 4 * m] = d4;
      out[o + 5 * m] = d5;
      out[o + 6 * m] = d6;
      out[o + 7 * m] = d7;
    }
  }
  for (; r < rows; r++) {
    const b = r * dim;
    for (let i = 0; i < m; i++) {
      const q = queries[i];
      let d = 0;
      for (let t = 0; t < dim; t++) d += q[t] * data[b + t];
      out[r * m + i] = d;
    }
  }
  return out;
}

/** Dot products of one query with every row of a sparse store (rows never touched stay 0). */
export function sparseDots(
  store: SparseStore,
  q: Float32Array,
  out = new Float64Array(store.rows),
): Float64Array {
  const { colPtr, rowIdx, values } = store;
  for (let t = 0; t < q.length; t++) {
    const x = q[t];
    if (x === 0) continue;
    for (let p = colPtr[t], e = colPtr[t + 1]; p < e; p++) out[rowIdx[p]] += x * values[p];
  }
  return out;
}

/** Cosine (dot product) of one query vector with every row of a store. */
export function storeDots(store: VectorStore, q: Float32Array): Float64Array {
  if (q.length !== store.dim)
    throw new Error(`query vector has dimension ${q.length}, the index has ${store.dim}`);
  return store.kind === 'sparse' ? sparseDots(store, q) : denseDots(store.data, store.rows, store.dim, [q]);
}

/** Scratch buffers of one scorer, reused across queries (scoring is synchronous). */
interface Scratch {
  acc: Float64Array;
  rowMark: Uint8Array;
  touchedRows: Int32Array;
  curMax: Float64Array;
  sentMark: Uint8Array;
  touchedSents: Int32Array;
  touchedCount: Int32Array;
}

/**
 * SpanSim of query spans against every pool sentence of a span table. Built once per index: it
 * keeps the inverse map row -> sentences and scratch buffers.
 */
export class SpanSimScorer {
  /** Row -> the sentences of the pool spans that use it (CSR). */
  readonly rowSentPtr: Int32Array;
  readonly rowSents: Int32Array;
  /** Pool spans per sentence. */
  readonly spanCount: Int32Array;
  private scratch?: Scratch;

  constructor(readonly table: SpanTable) {
    const { vectors, spanVector, spanSentence, sentences } = table;
    if (spanVector.length !== spanSentence.length)
      throw new Error('spanVector and spanSentence differ in length');
    const ptr = new Int32Array(vectors.rows + 1);
    for (let j = 0; j < spanVector.length; j++) ptr[spanVector[j] + 1]++;
    for (let r = 0; r < vectors.rows; r++) ptr[r + 1] += ptr[r];
    const fill = ptr.slice(0, vectors.rows);
    const sents = new Int32Array(spanVector.length);
    const count = new Int32Array(sentences);
    for (let j = 0; j < spanVector.length; j++) {
      sents[fill[spanVector[j]]++] = spanSentence[j];
      count[spanSentence[j]]++;
    }
    this.rowSentPtr = ptr;
    this.rowSents = sents;
    this.spanCount = count;
  }

  scores(queryVectors: readonly Float32Array[], weights: ArrayLike<number>): Float64Array {
    const { vectors, sentences } = this.table;
    checkQuery(queryVectors, weights, vectors.dim);
    if (queryVectors.length === 0) return new Float64Array(sentences);
    return vectors.kind === 'sparse'
      ? this.sparseScores(vectors, queryVectors, weights)
      : this.denseScores(vectors, queryVectors, weights);
  }

  private denseScores(
    store: DenseStore,
    queryVectors: readonly Float32Array[],
    weights: ArrayLike<number>,
  ): Float64Array {
    const { spanVector, spanSentence, sentences } = this.table;
    const m = queryVectors.length;
    const dots = denseDots(store.data, store.rows, store.dim, queryVectors);
    const best = new Float64Array(sentences * m).fill(Number.NEGATIVE_INFINITY);
    for (let j = 0; j < spanVector.length; j++) {
      const base = spanSentence[j] * m;
      const row = spanVector[j] * m;
      for (let i = 0; i < m; i++) {
        const d = dots[row + i];
        if (d > best[base + i]) best[base + i] = d;
      }
    }
    return weightedSum(best, weights, sentences);
  }

  private sparseScores(
    store: SparseStore,
    queryVectors: readonly Float32Array[],
    weights: ArrayLike<number>,
  ): Float64Array {
    const { sentences } = this.table;
    const { colPtr, rowIdx, values, nonNegative } = store;
    const { rowSentPtr, rowSents, spanCount } = this;
    const s = this.scratchBuffers();
    const { acc, rowMark, touchedRows, curMax, sentMark, touchedSents, touchedCount } = s;
    const scores = new Float64Array(sentences);
    let wsum = 0;
    for (let i = 0; i < weights.length; i++) wsum += weights[i];
    for (let i = 0; i < queryVectors.length; i++) {
      const q = queryVectors[i];
      // 1. Dot products of the rows that share a feature with the query span.
      let nr = 0;
      for (let t = 0; t < q.length; t++) {
        const x = q[t];
        if (x === 0) continue;
        for (let p = colPtr[t], e = colPtr[t + 1]; p < e; p++) {
          const r = rowIdx[p];
          if (rowMark[r] === 0) {
            rowMark[r] = 1;
            touchedRows[nr++] = r;
          }
          acc[r] += x * values[p];
        }
      }
      // 2. Max per sentence over its touched spans.
      let ns = 0;
      for (let a = 0; a < nr; a++) {
        const r = touchedRows[a];
        const d = acc[r];
        acc[r] = 0;
        rowMark[r] = 0;
        for (let p = rowSentPtr[r], e = rowSentPtr[r + 1]; p < e; p++) {
          const sent = rowSents[p];
          if (sentMark[sent] === 0) {
            sentMark[sent] = 1;
            touchedSents[ns++] = sent;
            curMax[sent] = d;
            touchedCount[sent] = 1;
          } else {
            if (d > curMax[sent]) curMax[sent] = d;
            touchedCount[sent]++;
          }
        }
      }
      // 3. Weighted sum. An untouched span has a dot product of exactly 0: with non-negative
      // vectors every touched one is > 0, otherwise 0 competes when some span was not touched.
      const w = weights[i];
      for (let a = 0; a < ns; a++) {
        const sent = touchedSents[a];
        let b = curMax[sent];
        if (!nonNegative && touchedCount[sent] < spanCount[sent] && b < 0) b = 0;
        scores[sent] += w * b;
        sentMark[sent] = 0;
      }
    }
    const inv = wsum > 0 ? 1 / wsum : 0;
    for (let sent = 0; sent < sentences; sent++) scores[sent] *= inv;
    return scores;
  }

  private scratchBuffers(): Scratch {
    if (!this.scratch) {
      const rows = this.table.vectors.rows;
      const n = this.table.sentences;
      this.scratch = {
        acc: new Float64Array(rows),
        rowMark: new Uint8Array(rows),
        touchedRows: new Int32Array(rows),
        curMax: new Float64Array(n),
        sentMark: new Uint8Array(n),
        touchedSents: new Int32Array(n),
        touchedCount: new Int32Array(n),
      };
    }
    return this.scratch;
  }
}

/** Σ_i w_i · best[s·m+i] / Σ w per sentence; sentences without spans (best = -∞) score 0. */
function weightedSum(best: Float64Array, weights: ArrayLike<number>, sentences: number): Float64Array {
  const m = weights.length;
  let wsum = 0;
  for (let i = 0; i < m; i++) wsum += weights[i];
  const inv = wsum > 0 ? 1 / wsum : 0;
  const scores = new Float64Array(sentences);
  for (let s = 0; s < sentences; s++) {
    const base = s * m;
    if (best[base] === Number.NEGATIVE_INFINITY) continue;
    let acc = 0;
    for (let i = 0; i < m; i++) acc += weights[i] * best[base + i];
    scores[s] = acc * inv;
  }
  return scores;
}

/**
 * SpanSim over a dense row-major span matrix (one row per pool span).
 * @param spanVectors pool span matrix, row-major, `spanSentence.length` rows of `dim`
 * @param spanSentence pool span -> pool sentence index
 */
export function spanSimScores(
  queryVectors: readonly Float32Array[],
  weights: ArrayLike<number>,
  spanVectors: Float32Array,
  spanSentence: Int32Array,
  sentenceCount: number,
  dim: number,
): Float64Array {
  const rows = spanSentence.length;
  const table: SpanTable = {
    vectors: { kind: 'dense', rows, dim, data: spanVectors, precision: 'f32' },
    spanVector: Int32Array.from({ length: rows }, (_, j) => j),
    spanSentence,
    sentences: sentenceCount,
  };
  return new SpanSimScorer(table).scores(queryVectors, weights);
}

/** Cosine of one query vector against every row of a dense matrix (unit rows: a dot product). */
export function cosineScores(
  query: Float32Array,
  matrix: Float32Array,
  rows: number,
  dim: number,
): Float64Array {
  return storeDots({ kind: 'dense', rows, dim, data: matrix, precision: 'f32' }, query);
}

/**
 * The k best scores, highest first; equal scores keep the lower index first. A bounded sorted
 * buffer (k is small: a handful of demonstrations), so O(N · log k) comparisons plus rare shifts.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude?: ReadonlySet<number>): ScoredIndex[] {
  if (k <= 0) return [];
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    let s = scores[i];
    if (Number.isNaN(s)) s = Number.NEGATIVE_INFINITY;
    if (idx.length === k && !(s > val[k - 1])) continue;
    if (exclude?.has(i)) continue;
    // Insert after every element with a score >= s (ties: earlier index stays first).
    let lo = 0;
    let hi = val.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (val[mid] >= s) lo = mid + 1;
      else hi = mid;
    }
    idx.splice(lo, 0, i);
    val.splice(lo, 0, s);
    if (idx.length > k) {
      idx.pop();
      val.pop();
    }
  }
  return idx.map((index, p) => ({ index, score: val[p] }));
}

export { mulberry32 };

/** k distinct indices in [0, n) without the excluded ones, in draw order (Floyd-style rejection). */
export function randomK(n: number, k: number, seed: number, exclude?: ReadonlySet<number>): number[] {
  const available = n - (exclude ? [...exclude].filter((e) => e >= 0 && e < n).length : 0);
  const want = Math.min(k, Math.max(0, available));
  const rnd = mulberry32(seed);
  const picked = new Set<number>();
  const out: number[] = [];
  while (out.length < want) {
    const i = Math.floor(rnd() * n);
    if (picked.has(i) || exclude?.has(i)) continue;
    picked.add(i);
    out.push(i);
  }
  return out;
}

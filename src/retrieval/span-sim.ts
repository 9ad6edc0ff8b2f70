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
import { mulberry32 } from '../core/random.js';
import { DenseKernel } from './dense-kernel.js';
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

/** Query span i's product of row r is values[r · stride + offset]. */
type Column = readonly [values: Float64Array | Float32Array, stride: number, offset: number];

/** The columns of a row-major products buffer: dots[r · m + i]. */
const interleaved = (dots: Float64Array, m: number): Column[] =>
  Array.from({ length: m }, (_, i): Column => [dots, m, i]);

/**
 * SpanSim of query spans against every pool sentence of a span table. Built once per index: it
 * keeps the map sentence -> rows of its spans and a scratch buffer of dot products.
 *
 * Scoring is two passes. (1) The dot product of every row with every query span, into
 * `dots[row · m + i]`: from the posting lists (rows sharing no feature with a query span keep
 * exactly 0, which is their dot product) or from the blocked dense scan. (2) One sequential pass
 * over the sentences: the max over each sentence's rows per query span, then the weighted sum.
 */
export class SpanSimScorer {
  /** Sentence -> rows of its pool spans (CSR). */
  readonly sentRowPtr: Int32Array;
  readonly sentRows: Int32Array;
  /** Row -> the sentences of the pool spans that use it (CSR), for the top-k search. */
  private rowSentPtr?: Int32Array;
  private rowSents?: Int32Array;
  private sentStamp?: Int32Array;
  private stamp = 0;
  private dots = new Float64Array(0);
  /** Dense top-k: sentences the float32 filter left to rescore in float64, in the last search. */
  lastRescored = 0;

  /**
   * @param denseFilter dense stores: find the exact top k through the float32 SIMD filter (the
   *   default; false: the float64 scan of every row, as the tests' reference does)
   */
  constructor(
    readonly table: SpanTable,
    private readonly denseFilter = true,
  ) {
    const { vectors, spanVector, spanSentence, sentences } = table;
    if (spanVector.length !== spanSentence.length)
      throw new Error('spanVector and spanSentence differ in length');
    const ptr = new Int32Array(sentences + 1);
    for (let j = 0; j < spanSentence.length; j++) ptr[spanSentence[j] + 1]++;
    for (let s = 0; s < sentences; s++) ptr[s + 1] += ptr[s];
    const fill = ptr.slice(0, sentences);
    const rows = new Int32Array(spanVector.length);
    for (let j = 0; j < spanVector.length; j++) {
      const r = spanVector[j];
      if (!(r >= 0 && r < vectors.rows)) throw new Error(`span ${j} points at row ${r} of ${vectors.rows}`);
      rows[fill[spanSentence[j]]++] = r;
    }
    this.sentRowPtr = ptr;
    this.sentRows = rows;
  }

  scores(queryVectors: readonly Float32Array[], weights: ArrayLike<number>): Float64Array {
    const { vectors, sentences } = this.table;
    checkQuery(queryVectors, weights, vectors.dim);
    const m = queryVectors.length;
    if (m === 0) return new Float64Array(sentences);
    const dots = this.rowDots(vectors, queryVectors);
    const scores = new Float64Array(sentences);
    let wsum = 0;
    for (let i = 0; i < m; i++) wsum += weights[i];
    const inv = wsum > 0 ? 1 / wsum : 0;
    const { sentRowPtr, sentRows } = this;
    // One pass per query span (a plain scalar loop), adding w_i · max in the order i = 0..m-1.
    for (let i = 0; i < m; i++) {
      const w = weights[i];
      for (let s = 0; s < sentences; s++) {
        let p = sentRowPtr[s];
        const e = sentRowPtr[s + 1];
        if (p === e) continue; // no spans: score 0
        let b = dots[sentRows[p++] * m + i];
        for (; p < e; p++) {
          const d = dots[sentRows[p] * m + i];
          if (d > b) b = d;
        }
        scores[s] += w * b;
      }
    }
    for (let s = 0; s < sentences; s++) scores[s] *= inv;
    return scores;
  }

  /**
   * The k best sentences, exactly as `topK(scores(...), k, exclude)` returns them, without
   * scoring every sentence (a threshold search in the style of Fagin's algorithm).
   *
   * For each query span i take τ_i, the L-th largest dot product over the rows. A sentence none
   * of whose rows beats τ_i for any i scores at most UB = Σ w_i · max(τ_i, 0) / Σ w. Only the
   * sentences holding a row above its τ_i are scored (with the same arithmetic as `scores`); when
   * the k-th of them scores strictly above UB, no other sentence can enter or tie into the top k.
   * Otherwise L doubles, and past a quarter of the rows the full pass runs instead.
   */
  topK(
    queryVectors: readonly Float32Array[],
    weights: ArrayLike<number>,
    k: number,
    exclude?: ReadonlySet<number>,
  ): ScoredIndex[] {
    const { vectors, sentences } = this.table;
    checkQuery(queryVectors, weights, vectors.dim);
    const m = queryVectors.length;
    const rows = vectors.rows;
    if (m === 0 || k <= 0 || sentences < 2048 || rows < 256)
      return topK(this.scores(queryVectors, weights), k, exclude);
    if (vectors.kind === 'dense' && this.denseFilter) {
      const kernel = DenseKernel.for(vectors);
      const refined = kernel && this.filteredTopK(kernel, vectors, queryVectors, weights, k, exclude);
      if (refined) return refined;
    }
    const dots = this.rowDots(vectors, queryVectors);
    let wsum = 0;
    for (let i = 0; i < m; i++) wsum += weights[i];
    const inv = wsum > 0 ? 1 / wsum : 0;
    const columns = interleaved(dots, m);
    for (let L = 16; L <= rows / 4; L *= 4) {
      const { cand, ub } = this.sentencesAbove(columns, rows, L, weights, exclude);
      if (cand.length < k) continue;
      const sc = new Float64Array(cand.length);
      for (let c = 0; c < cand.length; c++) sc[c] = this.sentenceScore(cand[c], columns, weights, inv);
      const best = topK(sc, k);
      if (best.length === k && best[k - 1].score > ub * inv)
        return best.map((b) => ({ index: cand[b.index], score: b.score }));
    }
    return topK(this.scores(queryVectors, weights), k, exclude);
  }

  /**
   * Dense stores: the float32 SIMD scan (dense-kernel.ts) gives every row's dot products with a
   * bound on their error, hence every sentence's SpanSim within `err`. A sentence of the exact
   * top k scores at least the k-th approximate score minus 2·err, so only the sentences above that
   * cut are scored again, from float64 dot products in the plain loop's order, with the arithmetic
   * of `scores`: the result is exactly `topK(scores(...), k, exclude)`. Which sentences can reach
   * the cut is found as in `topK` (the rows above the L-th largest approximate product per query
   * span), else by a pass over every sentence. Undefined (use the float64 scan) when fewer than k
   * sentences are left or a weight is negative.
   */
  private filteredTopK(
    kernel: DenseKernel,
    store: DenseStore,
    queryVectors: readonly Float32Array[],
    weights: ArrayLike<number>,
    k: number,
    exclude?: ReadonlySet<number>,
  ): ScoredIndex[] | undefined {
    const { sentences } = this.table;
    const { rows } = store;
    const m = queryVectors.length;
    let wsum = 0;
    let errSum = 0;
    for (let i = 0; i < m; i++) {
      if (!(weights[i] >= 0)) return undefined;
      wsum += weights[i];
    }
    const { dots: approx, bound } = kernel.dots(queryVectors);
    for (let i = 0; i < m; i++) errSum += weights[i] * bound[i];
    const inv = wsum > 0 ? 1 / wsum : 0;
    const err = errSum * inv;
    // query-major: query span i's products are one contiguous run of the kernel's output
    const approxColumns = Array.from({ length: m }, (_, i): Column => [approx, 1, i * rows]);
    const approxScore = (s: number) => this.sentenceScore(s, approxColumns, weights, inv);
    const cutBelow = (last: number) => last - 2 * err - 1e-12 * (Math.abs(last) + 1);
    let finalists: number[] | undefined;
    for (let L = 16; L <= rows / 4 && !finalists; L *= 4) {
      const { cand, ub } = this.sentencesAbove(approxColumns, rows, L, weights, exclude);
      if (cand.length < k) continue;
      const sc = cand.map(approxScore);
      const cut = cutBelow(topK(sc, k)[k - 1].score);
      // a sentence outside `cand` scores at most ub · inv (approximately): below the cut, none can enter
      if (ub * inv < cut - 1e-12 * (Math.abs(cut) + 1)) finalists = cand.filter((_, c) => sc[c] >= cut);
    }
    if (!finalists) {
      const all = new Float64Array(sentences);
      for (let s = 0; s < sentences; s++) all[s] = approxScore(s);
      const kth = topK(all, k, exclude);
      if (kth.length < k) return undefined;
      const cut = cutBelow(kth[k - 1].score);
      finalists = [];
      for (let s = 0; s < sentences; s++) if (all[s] >= cut && !exclude?.has(s)) finalists.push(s);
    }
    // float64 products of the finalists' rows only, into the scratch buffer at their places
    if (this.dots.length < rows * m) this.dots = new Float64Array(rows * m);
    const dots = this.dots;
    const { sentRowPtr, sentRows } = this;
    const { data, dim } = store;
    for (const s of finalists)
      for (let p = sentRowPtr[s]; p < sentRowPtr[s + 1]; p++) {
        const b = sentRows[p] * dim;
        for (let i = 0; i < m; i++) {
          const q = queryVectors[i];
          let d = 0;
          for (let t = 0; t < dim; t++) d += q[t] * data[b + t];
          dots[sentRows[p] * m + i] = d;
        }
      }
    this.lastRescored = finalists.length;
    const sc = new Float64Array(finalists.length);
    const columns = interleaved(dots, m);
    for (let c = 0; c < finalists.length; c++)
      sc[c] = this.sentenceScore(finalists[c], columns, weights, inv);
    return topK(sc, k).map((b) => ({ index: finalists[b.index], score: b.score }));
  }

  /**
   * The threshold step of both top-k searches: for each query span i, τ_i is the L-th largest of
   * its row products (`columns[i]`, as in `sentenceScore`); returns the sentences holding a
   * row above τ_i for some i (sorted, `exclude` left out) and UB = Σ w_i · max(τ_i, 0), above which
   * no other sentence's weighted sum can be.
   */
  private sentencesAbove(
    columns: readonly Column[],
    rows: number,
    L: number,
    weights: ArrayLike<number>,
    exclude?: ReadonlySet<number>,
  ): { cand: number[]; ub: number } {
    this.ensureRowSentences();
    const rowSentPtr = this.rowSentPtr!;
    const rowSents = this.rowSents!;
    const sentStamp = this.sentStamp!;
    let ub = 0;
    const stamp = ++this.stamp;
    const cand: number[] = [];
    for (let i = 0; i < columns.length; i++) {
      const [values, stride, offset] = columns[i];
      const { tau, top } = largest(values, stride, offset, rows, L);
      ub += weights[i] * Math.max(tau, 0);
      for (const r of top) {
        if (!(values[r * stride + offset] > tau)) continue;
        for (let p = rowSentPtr[r]; p < rowSentPtr[r + 1]; p++) {
          const sent = rowSents[p];
          if (sentStamp[sent] !== stamp) {
            sentStamp[sent] = stamp;
            if (!exclude?.has(sent)) cand.push(sent);
          }
        }
      }
    }
    cand.sort((a, b) => a - b);
    return { cand, ub };
  }

  /**
   * One sentence's SpanSim from row products (`columns[i]`: query span i's product of row r is
   * values[r · stride + offset]): the arithmetic of `scores`, in its order.
   */
  private sentenceScore(
    s: number,
    columns: readonly Column[],
    weights: ArrayLike<number>,
    inv: number,
  ): number {
    const { sentRowPtr, sentRows } = this;
    const e = sentRowPtr[s + 1];
    if (sentRowPtr[s] === e) return 0;
    let acc = 0;
    for (let i = 0; i < columns.length; i++) {
      const [values, stride, offset] = columns[i];
      let p = sentRowPtr[s];
      let b = values[sentRows[p++] * stride + offset];
      for (; p < e; p++) {
        const d = values[sentRows[p] * stride + offset];
        if (d > b) b = d;
      }
      acc += weights[i] * b;
    }
    return acc * inv;
  }

  private ensureRowSentences(): void {
    if (this.rowSentPtr) return;
    const { vectors, spanVector, spanSentence, sentences } = this.table;
    const ptr = new Int32Array(vectors.rows + 1);
    for (let j = 0; j < spanVector.length; j++) ptr[spanVector[j] + 1]++;
    for (let r = 0; r < vectors.rows; r++) ptr[r + 1] += ptr[r];
    const fill = ptr.slice(0, vectors.rows);
    const sents = new Int32Array(spanVector.length);
    for (let j = 0; j < spanVector.length; j++) sents[fill[spanVector[j]]++] = spanSentence[j];
    this.rowSentPtr = ptr;
    this.rowSents = sents;
    this.sentStamp = new Int32Array(sentences);
  }

  /** dots[row · m + i] for every row (a scratch buffer, valid until the next call). */
  rowDots(store: VectorStore, queryVectors: readonly Float32Array[]): Float64Array {
    const m = queryVectors.length;
    const size = store.rows * m;
    if (this.dots.length < size) this.dots = new Float64Array(size);
    const dots = this.dots;
    if (store.kind === 'dense') return denseDots(store.data, store.rows, store.dim, queryVectors, dots);
    dots.fill(0, 0, size);
    const { colPtr, rowIdx, values } = store;
    for (let i = 0; i < m; i++) {
      const q = queryVectors[i];
      for (let t = 0; t < q.length; t++) {
        const x = q[t];
        if (x === 0) continue;
        for (let p = colPtr[t], e = colPtr[t + 1]; p < e; p++) dots[rowIdx[p] * m + i] += x * values[p];
      }
    }
    return dots;
  }
}

/**
 * The L largest of dots[r · m + i] over the rows (a bounded min-heap): their rows, and τ, the
 * smallest of them (-Infinity when there are fewer than L rows).
 */
function largest(
  dots: Float64Array | Float32Array,
  m: number,
  i: number,
  rows: number,
  L: number,
): { tau: number; top: Int32Array } {
  const hv = new Float64Array(L);
  const hr = new Int32Array(L);
  let size = 0;
  for (let r = 0; r < rows; r++) {
    const v = dots[r * m + i];
    if (size === L) {
      if (!(v > hv[0])) continue;
      // Replace the minimum and sift it down.
      let a = 0;
      for (;;) {
        const l = 2 * a + 1;
        if (l >= L) break;
        const c = l + 1 < L && hv[l + 1] < hv[l] ? l + 1 : l;
        if (!(hv[c] < v)) break;
        hv[a] = hv[c];
        hr[a] = hr[c];
        a = c;
      }
      hv[a] = v;
      hr[a] = r;
    } else {
      let a = size++;
      while (a > 0) {
        const parent = (a - 1) >> 1;
        if (!(hv[parent] > v)) break;
        hv[a] = hv[parent];
        hr[a] = hr[parent];
        a = parent;
      }
      hv[a] = v;
      hr[a] = r;
    }
  }
  return { tau: size === L ? hv[0] : Number.NEGATIVE_INFINITY, top: hr.subarray(0, size) };
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
  // The k-th best so far: the hot loop is one comparison per score once the buffer is full.
  let threshold = Number.NEGATIVE_INFINITY;
  let full = false;
  const n = scores.length;
  for (let i = 0; i < n; i++) {
    let s = scores[i];
    if (full && !(s > threshold)) continue; // NaN never passes: it ranks as -Infinity
    if (Number.isNaN(s)) s = Number.NEGATIVE_INFINITY;
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
    if (idx.length === k) {
      full = true;
      threshold = val[k - 1];
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

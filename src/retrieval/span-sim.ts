/**
 * Vectorised SpanSim (EL4NER):
 *   SpanSim(S, Sc) = Σ_{s∈S} w(s) · max_{c∈Sc} sim(s, c) / Σ_{s∈S} w(s)
 * for one query span set S against every pool sentence at once. All vectors are unit length,
 * so sim is a dot product. The m × N dot products (m query spans, N pool spans) are one pass
 * over the pool span matrix; each dot product updates the running max of (sentence, query
 * span) in a flat Float64Array, then the weighted sum gives one score per pool sentence.
 * A query vector with few non-zero entries (the lexical embedder: ~3 × span length of 1024)
 * is multiplied in sparse form: same result, a fraction of the work.
 * A pool sentence without spans has max over an empty set, taken as similarity 0.
 */
import { mulberry32 } from '../eval/random.js';

export interface ScoredIndex {
  index: number;
  score: number;
}

/** Query vectors as rows of one matrix, each either dense or sparse (index/value lists). */
interface PackedQuery {
  m: number;
  sparse: boolean[];
  idx: Int32Array[];
  val: Float32Array[];
  dense: Float32Array[];
}

function pack(queries: readonly Float32Array[], dim: number): PackedQuery {
  const q: PackedQuery = { m: queries.length, sparse: [], idx: [], val: [], dense: [] };
  for (const v of queries) {
    if (v.length !== dim) throw new Error(`query vector has dimension ${v.length}, the index has ${dim}`);
    let nnz = 0;
    for (let t = 0; t < dim; t++) if (v[t] !== 0) nnz++;
    const sparse = nnz * 4 < dim;
    q.sparse.push(sparse);
    q.dense.push(v);
    const idx = new Int32Array(sparse ? nnz : 0);
    const val = new Float32Array(sparse ? nnz : 0);
    if (sparse) {
      let p = 0;
      for (let t = 0; t < dim; t++) {
        if (v[t] !== 0) {
          idx[p] = t;
          val[p++] = v[t];
        }
      }
    }
    q.idx.push(idx);
    q.val.push(val);
  }
  return q;
}

function dotRow(q: PackedQuery, i: number, mat: Float32Array, row: number, dim: number): number {
  let d = 0;
  if (q.sparse[i]) {
    const idx = q.idx[i];
    const val = q.val[i];
    for (let t = 0; t < idx.length; t++) d += val[t] * mat[row + idx[t]];
  } else {
    const v = q.dense[i];
    for (let t = 0; t < dim; t++) d += v[t] * mat[row + t];
  }
  return d;
}

/**
 * SpanSim of the query spans against every pool sentence.
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
  const m = queryVectors.length;
  if (weights.length !== m) throw new Error('one weight per query span is needed');
  const scores = new Float64Array(sentenceCount);
  if (m === 0) return scores;
  let wsum = 0;
  for (let i = 0; i < m; i++) wsum += weights[i];
  const q = pack(queryVectors, dim);
  const best = new Float64Array(sentenceCount * m).fill(Number.NEGATIVE_INFINITY);
  const nSpans = spanSentence.length;
  for (let j = 0; j < nSpans; j++) {
    const row = j * dim;
    const base = spanSentence[j] * m;
    for (let i = 0; i < m; i++) {
      const d = dotRow(q, i, spanVectors, row, dim);
      if (d > best[base + i]) best[base + i] = d;
    }
  }
  const inv = wsum > 0 ? 1 / wsum : 0;
  for (let s = 0; s < sentenceCount; s++) {
    const base = s * m;
    if (best[base] === Number.NEGATIVE_INFINITY) continue; // no spans: score 0
    let acc = 0;
    for (let i = 0; i < m; i++) acc += weights[i] * best[base + i];
    scores[s] = acc * inv;
  }
  return scores;
}

/** Cosine of one query vector against every row of a matrix (unit rows: a dot product). */
export function cosineScores(
  query: Float32Array,
  matrix: Float32Array,
  rows: number,
  dim: number,
): Float64Array {
  const q = pack([query], dim);
  const scores = new Float64Array(rows);
  for (let r = 0; r < rows; r++) scores[r] = dotRow(q, 0, matrix, r * dim, dim);
  return scores;
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

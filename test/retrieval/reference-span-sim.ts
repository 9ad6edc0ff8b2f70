/**
 * The SpanSim scoring of el4ner before the posting-list index (commit 56adf75, src/retrieval/
 * span-sim.ts): one pass over a dense row-major span matrix, query vectors in sparse form when
 * they have few non-zeros. Kept verbatim as the reference the tests and bench/retrieval.ts compare
 * the new kernels against ("today's implementation"); nothing in src/ uses it.
 */
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
export function referenceSpanSimScores(
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
export function referenceCosineScores(
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

/**
 * Vector stores of the pool index: the rows of one matrix (unit vectors, cosine = dot product),
 * kept in the form that suits the embedder.
 *
 * - `sparse`: column-major posting lists (CSC). For each feature t, the rows with a non-zero at t
 *   and their values: `colPtr[t]..colPtr[t+1]` index `rowIdx` and `values`. The lexical embedder
 *   fills ~3% of its 1024 buckets, so a query touches only the postings of its own features.
 *   Values stay float32, so scores are bit-for-bit those of a dense float32 matrix.
 * - `dense`: row-major float32 (`rows × dim`), for embedding models. On disk either float32
 *   (exact) or int8 with one scale per row (4x smaller; the rows are dequantised when built and
 *   when loaded, so a built and a loaded index score alike).
 */

export type DensePrecision = 'f32' | 'int8';

export interface SparseStore {
  kind: 'sparse';
  rows: number;
  dim: number;
  colPtr: Int32Array;
  rowIdx: Int32Array;
  values: Float32Array;
  /** Every stored value is >= 0 (the lexical embedder's counts): lets SpanSim skip untouched rows. */
  nonNegative: boolean;
}

export interface DenseStore {
  kind: 'dense';
  rows: number;
  dim: number;
  /** rows × dim, row-major. */
  data: Float32Array;
  /** How the rows are written to disk ('int8': `data` holds the dequantised codes). */
  precision: DensePrecision;
  /** For 'int8': the codes and per-row scales `data` was dequantised from (what the file holds). */
  int8?: { codes: Int8Array; scales: Float32Array };
}

export type VectorStore = SparseStore | DenseStore;

/** Bytes held in memory by a store's arrays. */
export function storeBytes(s: VectorStore): number {
  if (s.kind === 'sparse') return s.colPtr.byteLength + s.rowIdx.byteLength + s.values.byteLength;
  return s.data.byteLength + (s.int8 ? s.int8.codes.byteLength + s.int8.scales.byteLength : 0);
}

/** Below this share of non-zeros a matrix is stored sparse (8 bytes per non-zero vs 4 per cell). */
const SPARSE_MAX_DENSITY = 0.25;

/**
 * Collects rows one at a time and decides the layout from the first rows seen (sparse when they
 * are mostly zeros, as the lexical embedder's are). Rows are copied: the caller may reuse its
 * vectors. Memory grows with the non-zeros, never with rows × dim for sparse data.
 */
export class StoreBuilder {
  private kind: 'sparse' | 'dense' | undefined;
  private rows = 0;
  private dim = -1;
  // sparse: CSR while collecting, converted to CSC at the end
  private csrPtr: number[] = [0];
  private csrCol = new GrowableInt32();
  private csrVal = new GrowableFloat32();
  private nonNegative = true;
  // dense
  private dense = new GrowableFloat32();
  private codes = new GrowableInt8();
  private scales = new GrowableFloat32();
  private readonly probe: Float32Array[] = [];

  constructor(
    private readonly precision: DensePrecision = 'f32',
    private readonly probeRows = 256,
  ) {}

  add(v: Float32Array): void {
    if (this.dim < 0) this.dim = v.length;
    else if (v.length !== this.dim)
      throw new Error(`vectors of mixed dimensions (${this.dim} and ${v.length})`);
    if (this.kind === undefined) {
      this.probe.push(Float32Array.from(v));
      if (this.probe.length >= this.probeRows) this.decide();
      return;
    }
    this.push(v);
  }

  private decide(): void {
    let nnz = 0;
    for (const p of this.probe) for (let t = 0; t < p.length; t++) if (p[t] !== 0) nnz++;
    const cells = this.probe.length * Math.max(1, this.dim);
    this.kind = nnz < SPARSE_MAX_DENSITY * cells ? 'sparse' : 'dense';
    for (const p of this.probe) this.push(p);
    this.probe.length = 0;
  }

  private push(v: Float32Array): void {
    this.rows++;
    if (this.kind === 'dense') {
      if (this.precision === 'int8') {
        const { q, scale } = quantizeInt8(v);
        const out = new Float32Array(v.length);
        dequantizeInt8(q, scale, out);
        this.codes.pushAll(q);
        this.scales.push(scale);
        this.dense.pushAll(out);
      } else this.dense.pushAll(v);
      return;
    }
    for (let t = 0; t < v.length; t++) {
      const x = v[t];
      if (x !== 0) {
        this.csrCol.push(t);
        this.csrVal.push(x);
        if (x < 0) this.nonNegative = false;
      }
    }
    this.csrPtr.push(this.csrCol.length);
  }

  finish(dimIfEmpty = 0): VectorStore {
    if (this.kind === undefined) this.decide();
    const dim = this.dim < 0 ? dimIfEmpty : this.dim;
    if (this.kind === 'dense') {
      const store: DenseStore = {
        kind: 'dense',
        rows: this.rows,
        dim,
        data: this.dense.toArray(),
        precision: this.precision,
      };
      if (this.precision === 'int8')
        store.int8 = { codes: this.codes.toArray(), scales: this.scales.toArray() };
      return store;
    }
    return csrToCsc(
      this.rows,
      dim,
      this.csrPtr,
      this.csrCol.toArray(),
      this.csrVal.toArray(),
      this.nonNegative,
    );
  }
}

function csrToCsc(
  rows: number,
  dim: number,
  ptr: readonly number[],
  col: Int32Array,
  val: Float32Array,
  nonNegative: boolean,
): SparseStore {
  const nnz = col.length;
  const colPtr = new Int32Array(dim + 1);
  for (let p = 0; p < nnz; p++) colPtr[col[p] + 1]++;
  for (let t = 0; t < dim; t++) colPtr[t + 1] += colPtr[t];
  const fill = colPtr.slice(0, dim);
  const rowIdx = new Int32Array(nnz);
  const values = new Float32Array(nnz);
  // Rows in increasing order, so each posting list is sorted by row.
  for (let r = 0; r < rows; r++) {
    for (let p = ptr[r]; p < ptr[r + 1]; p++) {
      const q = fill[col[p]]++;
      rowIdx[q] = r;
      values[q] = val[p];
    }
  }
  return { kind: 'sparse', rows, dim, colPtr, rowIdx, values, nonNegative };
}

/** One row of a store as a dense Float32Array (tests, the approximate index, small lookups). */
export function storeRow(s: VectorStore, r: number, out = new Float32Array(s.dim)): Float32Array {
  if (s.kind === 'dense') {
    out.set(s.data.subarray(r * s.dim, (r + 1) * s.dim));
    return out;
  }
  out.fill(0);
  for (let t = 0; t < s.dim; t++) {
    // Posting lists are sorted by row: binary search for r.
    let lo = s.colPtr[t];
    let hi = s.colPtr[t + 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s.rowIdx[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    if (lo < s.colPtr[t + 1] && s.rowIdx[lo] === r) out[t] = s.values[lo];
  }
  return out;
}

/** A sparse store in row-major form (CSR): for rows read one at a time, O(non-zeros) each. */
export interface SparseRows {
  rowPtr: Int32Array;
  colIdx: Int32Array;
  values: Float32Array;
}

export function sparseRows(s: SparseStore): SparseRows {
  const rowPtr = new Int32Array(s.rows + 1);
  for (let p = 0; p < s.rowIdx.length; p++) rowPtr[s.rowIdx[p] + 1]++;
  for (let r = 0; r < s.rows; r++) rowPtr[r + 1] += rowPtr[r];
  const fill = rowPtr.slice(0, s.rows);
  const colIdx = new Int32Array(s.rowIdx.length);
  const values = new Float32Array(s.rowIdx.length);
  for (let t = 0; t < s.dim; t++) {
    for (let p = s.colPtr[t]; p < s.colPtr[t + 1]; p++) {
      const q = fill[s.rowIdx[p]]++;
      colIdx[q] = t;
      values[q] = s.values[p];
    }
  }
  return { rowPtr, colIdx, values };
}

// ---- int8 with a per-row scale ----

/** The row as the int8 file stores it: q = round(x / scale · 127), scale = max |x|. */
export function quantizeInt8(v: Float32Array): { q: Int8Array; scale: number } {
  let max = 0;
  for (let t = 0; t < v.length; t++) max = Math.max(max, Math.abs(v[t]));
  const q = new Int8Array(v.length);
  if (max > 0) for (let t = 0; t < v.length; t++) q[t] = Math.round((v[t] / max) * 127);
  return { q, scale: Math.fround(max) };
}

export function dequantizeInt8(q: Int8Array, scale: number, out: Float32Array, at = 0): void {
  const f = scale / 127;
  for (let t = 0; t < q.length; t++) out[at + t] = q[t] * f;
}

/** Rows of a dense int8 store, dequantised into one float32 matrix. */
export function dequantizeRows(codes: Int8Array, scales: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(codes.length);
  for (let r = 0; r < scales.length; r++)
    dequantizeInt8(codes.subarray(r * dim, (r + 1) * dim), scales[r], out, r * dim);
  return out;
}

// ---- growable typed arrays (builders of unknown size) ----

class GrowableInt32 {
  private a = new Int32Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.length++] = x;
  }
  toArray(): Int32Array {
    return this.a.slice(0, this.length);
  }
}

class GrowableInt8 {
  private a = new Int8Array(4096);
  length = 0;
  pushAll(v: Int8Array): void {
    if (this.length + v.length > this.a.length) {
      let n = this.a.length;
      while (n < this.length + v.length) n *= 2;
      const b = new Int8Array(n);
      b.set(this.a.subarray(0, this.length));
      this.a = b;
    }
    this.a.set(v, this.length);
    this.length += v.length;
  }
  toArray(): Int8Array {
    return this.a.slice(0, this.length);
  }
}

class GrowableFloat32 {
  private a = new Float32Array(1024);
  length = 0;
  private grow(min: number): void {
    let n = this.a.length;
    while (n < min) n *= 2;
    const b = new Float32Array(n);
    b.set(this.a.subarray(0, this.length));
    this.a = b;
  }
  push(x: number): void {
    if (this.length === this.a.length) this.grow(this.length + 1);
    this.a[this.length++] = x;
  }
  pushAll(v: Float32Array): void {
    if (this.length + v.length > this.a.length) this.grow(this.length + v.length);
    this.a.set(v, this.length);
    this.length += v.length;
  }
  toArray(): Float32Array {
    return this.a.length === this.length ? this.a : this.a.slice(0, this.length);
  }
}

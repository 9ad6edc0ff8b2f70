/**
 * The float32 SIMD scan of a dense store (dense-kernel.wat): dot products of every row with up to
 * MAX_QUERIES query vectors per pass, each with a rigorous bound on its distance from the exact
 * value. SpanSim's exact top-k (span-sim.ts) uses it as a filter: only the sentences the bound
 * cannot rule out are scored again in float64, so the result is still that of the plain scan.
 *
 * The store's rows move into the kernel's WebAssembly memory once (`store.data` becomes a view of
 * it), so they are held once and the scan reads them in place. The memory never grows afterwards,
 * which keeps that view valid.
 */
import { DENSE_KERNEL_WASM_BASE64 } from './dense-kernel.wasm.js';
import type { DenseStore } from './vectors.js';

/**
 * The part of the WebAssembly JS API used here (the compiler's ES library has no WebAssembly
 * types and DOM's would bring the browser globals along).
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    constructor(descriptor: { initial: number; maximum?: number });
    readonly buffer: ArrayBuffer;
  }
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}

/** Query vectors per pass; more are scanned in further passes. */
export const MAX_QUERIES = 16;
const PAGE = 65536;
const MAX_PAGES = 65536;

let compiled: WebAssembly.Module | null | undefined;

function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(DENSE_KERNEL_WASM_BASE64, 'base64'));
    } catch {
      compiled = null; // no WebAssembly SIMD here: callers keep the float64 scan
    }
  }
  return compiled;
}

/**
 * Bound on |float32 dot - float64 plain-loop dot| per unit of |q| . |x| for n-term dot products:
 * gamma_n = n u / (1 - n u) for each (Higham, Accuracy and Stability, 3.1; any summation order),
 * for float32 (u = 2^-24) and float64 (u = 2^-53), with a small safety margin.
 */
export function dotErrorFactor(n: number): number {
  const gamma = (u: number) => (n * u) / (1 - n * u);
  return (gamma(2 ** -24) + gamma(2 ** -53)) * 1.01;
}

const kernels = new WeakMap<DenseStore, DenseKernel | null>();

export class DenseKernel {
  private constructor(
    private readonly store: DenseStore,
    private readonly memory: WebAssembly.Memory,
    private readonly scan: (
      data: number,
      rows: number,
      dim: number,
      q: number,
      m: number,
      out: number,
    ) => void,
    private readonly queryOffset: number,
    private readonly outOffset: number,
    /** Largest Euclidean norm of a row (f64, rounded up). */
    private readonly maxRowNorm: number,
  ) {}

  /** The kernel of a store (made once), or null where it cannot run (no SIMD, dim not a multiple of 4, too big). */
  static for(store: DenseStore): DenseKernel | null {
    const known = kernels.get(store);
    if (known !== undefined) return known;
    const kernel = DenseKernel.create(store);
    kernels.set(store, kernel);
    return kernel;
  }

  private static create(store: DenseStore): DenseKernel | null {
    const { rows, dim } = store;
    if (rows === 0 || dim === 0 || dim % 4 !== 0) return null;
    const mod = kernelModule();
    if (!mod) return null;
    const matrixBytes = rows * dim * 4;
    const queryOffset = matrixBytes;
    const outOffset = queryOffset + MAX_QUERIES * dim * 4;
    const pages = Math.ceil((outOffset + rows * MAX_QUERIES * 4) / PAGE);
    if (pages > MAX_PAGES) return null;
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    } catch {
      return null;
    }
    const instance = new WebAssembly.Instance(mod, { env: { memory } });
    const view = new Float32Array(memory.buffer, 0, rows * dim);
    view.set(store.data.subarray(0, rows * dim));
    let maxSq = 0;
    for (let r = 0; r < rows; r++) {
      let sq = 0;
      for (let t = r * dim, e = t + dim; t < e; t++) sq += view[t] * view[t];
      if (sq > maxSq) maxSq = sq;
    }
    store.data = view;
    return new DenseKernel(
      store,
      memory,
      instance.exports.dots as DenseKernel['scan'],
      queryOffset,
      outOffset,
      Math.sqrt(maxSq) * (1 + 1e-12),
    );
  }

  /**
   * Float32 dot products of every row with each query, query-major: out[i · rows + r], and
   * for each query the bound on how far each of its products can be from the float64 plain loop.
   */
  dots(queries: readonly Float32Array[]): { dots: Float32Array; bound: Float64Array } {
    const { rows, dim } = this.store;
    const m = queries.length;
    const bound = new Float64Array(m);
    const factor = dotErrorFactor(dim);
    for (let i = 0; i < m; i++) {
      let sq = 0;
      for (let t = 0; t < dim; t++) sq += queries[i][t] * queries[i][t];
      // the smallest normal float32 covers products in the subnormal range
      bound[i] = factor * Math.sqrt(sq) * (1 + 1e-12) * this.maxRowNorm + dim * 2 ** -126;
    }
    const buffer = this.memory.buffer;
    // One pass (the usual case) leaves the products in the kernel's memory: a view, valid until
    // the next call. More queries than a pass takes are gathered pass by pass into a new array.
    const out = m <= MAX_QUERIES ? undefined : new Float32Array(rows * m);
    for (let first = 0; first < m; first += MAX_QUERIES) {
      const n = Math.min(MAX_QUERIES, m - first);
      const q = new Float32Array(buffer, this.queryOffset, n * dim);
      for (let i = 0; i < n; i++) q.set(queries[first + i], i * dim);
      this.scan(0, rows, dim, this.queryOffset, n, this.outOffset);
      const res = new Float32Array(buffer, this.outOffset, rows * n);
      if (!out) return { dots: res, bound };
      out.set(res, first * rows);
    }
    return { dots: out!, bound };
  }
}

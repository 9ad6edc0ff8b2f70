/**
 * The posting-list and blocked scans against today's implementation (reference-span-sim.ts, the
 * dense row-by-row scan el4ner shipped before): same pool, same query vectors, scores equal
 * bit for bit, so the demonstrations cannot change.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../src/core/random.js';
import type { NerDocument } from '../../src/core/types.js';
import { posWeight } from '../../src/pos/weights.js';
import { DenseKernel } from '../../src/retrieval/dense-kernel.js';
import type { SpanEmbedder } from '../../src/retrieval/embedders.js';
import { LexicalEmbedder } from '../../src/retrieval/embedders.js';
import { buildIndex, type PoolIndex } from '../../src/retrieval/index.js';
import { parsePoolJsonl } from '../../src/retrieval/pool-reader.js';
import { DemonstrationRetriever } from '../../src/retrieval/retriever.js';
import { SpanSimScorer, storeDots, topK } from '../../src/retrieval/span-sim.js';
import { StoreBuilder, storeRow } from '../../src/retrieval/vectors.js';
import { referenceCosineScores, referenceSpanSimScores } from './reference-span-sim.js';

const dataDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data');

/** Today's layout: one dense float32 row per pool span. */
function denseSpanMatrix(index: PoolIndex): Float32Array {
  const { dim } = index;
  const m = new Float32Array(index.spanVector.length * dim);
  const row = new Float32Array(dim);
  for (let j = 0; j < index.spanVector.length; j++)
    m.set(storeRow(index.spanVectors, index.spanVector[j], row), j * dim);
  return m;
}

function denseRows(store: PoolIndex['spanVectors']): Float32Array {
  const m = new Float32Array(store.rows * store.dim);
  for (let r = 0; r < store.rows; r++) m.set(storeRow(store, r), r * store.dim);
  return m;
}

function assertSameScores(got: Float64Array, want: Float64Array, what: string): void {
  assert.equal(got.length, want.length);
  for (let s = 0; s < want.length; s++) {
    if (!Object.is(got[s], want[s]) && !(got[s] === 0 && want[s] === 0))
      assert.fail(`${what}: sentence ${s} scores ${got[s]}, today's implementation ${want[s]}`);
  }
}

describe('SpanSim on the CoNLL-2003 train pool, lexical embedder (the default)', () => {
  const embedder = new LexicalEmbedder();
  let retriever: DemonstrationRetriever;
  let dense: Float32Array;
  let queries: NerDocument[];
  before(async () => {
    const read = (split: string) => {
      const f = path.join(dataDir, 'conll2003', `${split}.jsonl`);
      return parsePoolJsonl(readFileSync(f, 'utf8'), f);
    };
    retriever = await DemonstrationRetriever.build(read('train'), { embedder });
    dense = denseSpanMatrix(retriever.index);
    queries = read('dev')
      .filter((d) => d.entities.length > 0)
      .slice(0, 80);
  });

  it('stores the span vectors as posting lists, one row per distinct span text', () => {
    const { index } = retriever;
    assert.equal(index.spanVectors.kind, 'sparse');
    assert.equal(index.manifest.spans, 23499);
    assert.ok(index.manifest.spanRows < index.manifest.spans / 2);
  });

  it('gives bit-for-bit the scores and the top 5 of the dense scan, for every weight scheme', async () => {
    const { index } = retriever;
    for (const q of queries) {
      const spans = q.entities.map((e) => ({ text: e.text, start: e.start, end: e.end }));
      const pos = await retriever.queryPos(spans, q.text);
      const vectors = await embedder.embed(spans.map((s) => s.text));
      for (const scheme of ['default', 'paper-rank'] as const) {
        const got = retriever.spanScores(vectors, pos, scheme);
        const w = pos.map((p) =>
          posWeight(p, scheme === 'default' ? retriever.weights : { PROPN: 1, NOUN: 2, PRON: 4, other: 1 }),
        );
        const want = referenceSpanSimScores(
          vectors,
          w,
          dense,
          index.spanSentence,
          index.docs.length,
          index.dim,
        );
        assertSameScores(got, want, `${q.id} (${scheme})`);
      }
      const hits = await retriever.retrieve(spans, q.text, { k: 5 });
      const w = pos.map((p) => posWeight(p, retriever.weights));
      assert.deepEqual(
        hits,
        topK(referenceSpanSimScores(vectors, w, dense, index.spanSentence, index.docs.length, index.dim), 5),
      );
    }
  });

  it('gives bit-for-bit the sentence-embedding scores of the dense scan', async () => {
    const store = retriever.index.sentenceVectors!;
    assert.equal(store.kind, 'sparse');
    const matrix = denseRows(store);
    for (const q of queries.slice(0, 20)) {
      const [v] = await embedder.embed([q.text]);
      assertSameScores(storeDots(store, v), referenceCosineScores(v, matrix, store.rows, store.dim), q.id);
    }
  });
});

/** Unit vectors with a given share of non-zeros, signed or not, repeated texts allowed. */
class RandomEmbedder implements SpanEmbedder {
  readonly identity: string;
  private readonly cache = new Map<string, Float32Array>();
  constructor(
    private readonly dim: number,
    private readonly density: number,
    private readonly signed: boolean,
    private readonly seed: number,
  ) {
    this.identity = `random:${dim}:${density}:${signed}:${seed}`;
  }
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => {
      let v = this.cache.get(t);
      if (!v) {
        const rnd = mulberry32(this.seed + this.cache.size * 7919);
        v = new Float32Array(this.dim);
        let n = 0;
        for (let i = 0; i < this.dim; i++) {
          if (rnd() < this.density) {
            v[i] = this.signed ? rnd() * 2 - 1 : rnd();
            n += v[i] * v[i];
          }
        }
        if (n === 0) {
          v[Math.floor(rnd() * this.dim)] = 1;
          n = 1;
        }
        for (let i = 0; i < this.dim; i++) v[i] /= Math.sqrt(n);
        this.cache.set(t, v);
      }
      return v;
    });
  }
}

function randomPool(rnd: () => number, n: number, vocabulary: number): NerDocument[] {
  const docs: NerDocument[] = [];
  for (let s = 0; s < n; s++) {
    const words = Array.from({ length: Math.floor(rnd() * 4) }, () => `w${Math.floor(rnd() * vocabulary)}`);
    const text = [...words, 'end'].join(' ');
    let at = 0;
    const entities = words.map((w) => {
      const start = text.indexOf(w, at);
      at = start + w.length;
      return { start, end: start + w.length, type: 'X', text: w };
    });
    docs.push({ id: String(s), text, entities });
  }
  return docs;
}

describe('top-k search without scoring every sentence', () => {
  it('returns exactly the top k of the full scores, ties and exclusions included (CoNLL train tiled 3x)', async () => {
    const f = path.join(dataDir, 'conll2003', 'train.jsonl');
    const train = parsePoolJsonl(readFileSync(f, 'utf8'), f);
    // Three copies of every sentence: each score is tied at least three ways.
    const pool = [...train, ...train, ...train].map((d, i) => ({ ...d, id: `${d.id}#${i}` }));
    const embedder = new LexicalEmbedder({ dim: 512 });
    const index = await buildIndex(pool, { embedder, sentenceVectors: false });
    const scorer = new SpanSimScorer({
      vectors: index.spanVectors,
      spanVector: index.spanVector,
      spanSentence: index.spanSentence,
      sentences: pool.length,
    });
    const fd = path.join(dataDir, 'conll2003', 'dev.jsonl');
    const dev = parsePoolJsonl(readFileSync(fd, 'utf8'), fd).filter((d) => d.entities.length > 0);
    const rnd = mulberry32(3);
    for (const q of dev.slice(0, 60)) {
      const vectors = await embedder.embed(q.entities.map((e) => e.text));
      const w = vectors.map(() => [1, 2, 4][Math.floor(rnd() * 3)]);
      const all = scorer.scores(vectors, w);
      for (const k of [1, 5, 16]) {
        const exclude = new Set(topK(all, 2).map((h) => h.index));
        assert.deepEqual(scorer.topK(vectors, w, k), topK(all, k), `${q.id} k=${k}`);
        assert.deepEqual(
          scorer.topK(vectors, w, k, exclude),
          topK(all, k, exclude),
          `${q.id} k=${k} excluding`,
        );
      }
    }
  });
});

describe('SpanSim with other embedders, against the dense scan', () => {
  const cases = [
    { name: 'dense signed vectors (an embedding model)', density: 1, signed: true, kind: 'dense' },
    { name: 'sparse non-negative vectors', density: 0.08, signed: false, kind: 'sparse' },
    {
      name: 'sparse signed vectors (max over spans may be negative)',
      density: 0.08,
      signed: true,
      kind: 'sparse',
    },
  ] as const;
  for (const c of cases) {
    it(`${c.name}: scores equal bit for bit`, async () => {
      const rnd = mulberry32(99);
      for (let trial = 0; trial < 6; trial++) {
        const dim = 40 + Math.floor(rnd() * 100);
        const embedder = new RandomEmbedder(dim, c.density, c.signed, trial);
        const docs = randomPool(rnd, 50 + Math.floor(rnd() * 200), 30 + Math.floor(rnd() * 100));
        const index = await buildIndex(docs, { embedder });
        assert.equal(index.spanVectors.kind, c.kind);
        const scorer = new SpanSimScorer({
          vectors: index.spanVectors,
          spanVector: index.spanVector,
          spanSentence: index.spanSentence,
          sentences: docs.length,
        });
        const dense = denseSpanMatrix(index);
        for (let q = 0; q < 10; q++) {
          const m = 1 + Math.floor(rnd() * 5);
          const vectors = await new RandomEmbedder(dim, c.density, c.signed, 1000 + q).embed(
            Array.from({ length: m }, (_, i) => `q${i}`),
          );
          const w = vectors.map(() => [1, 2, 4][Math.floor(rnd() * 3)]);
          const want = referenceSpanSimScores(vectors, w, dense, index.spanSentence, docs.length, dim);
          assertSameScores(scorer.scores(vectors, w), want, `trial ${trial} query ${q}`);
          assert.deepEqual(scorer.topK(vectors, w, 5), topK(want, 5));
        }
      }
    });
  }

  it('StoreBuilder keeps an empty pool and a pool of one vector', () => {
    const empty = new StoreBuilder().finish(16);
    assert.equal(empty.rows, 0);
    assert.equal(empty.dim, 16);
    const b = new StoreBuilder();
    b.add(Float32Array.from([0, 1, 0, 0, 0, 0, 0, 0]));
    const one = b.finish();
    assert.equal(one.kind, 'sparse');
    assert.deepEqual([...storeRow(one, 0)], [0, 1, 0, 0, 0, 0, 0, 0]);
  });
});

/**
 * Vectors of 'wN' are random; 'wN~j' is 'wN' moved by about j · 1e-7 (below float32's resolution
 * of a sum of products, so its scores tie with those of 'wN' within the filter's error bound).
 */
class NearTieEmbedder implements SpanEmbedder {
  readonly identity: string;
  constructor(private readonly dim: number) {
    this.identity = `near-tie:${dim}`;
  }
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => {
      const [word, twin] = t.split('~');
      const rnd = mulberry32(Number(word.slice(1)) * 31 + this.dim);
      const v = Float32Array.from({ length: this.dim }, () => rnd() * 2 - 1);
      const jitter = mulberry32(Number(twin ?? 0) + 7);
      if (twin) for (let i = 0; i < this.dim; i++) v[i] += (jitter() - 0.5) * 2e-7 * Number(twin) * 8;
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    });
  }
}

/** The same sentence with some words replaced by a near twin. */
function nearTwins(d: NerDocument, rnd: () => number): NerDocument {
  let text = d.text;
  const entities = [];
  let shift = 0;
  for (const e of d.entities) {
    const twin = rnd() < 0.5 ? `${e.text}~${1 + Math.floor(rnd() * 3)}` : e.text;
    const start = e.start + shift;
    text = text.slice(0, start) + twin + text.slice(start + e.text.length);
    shift += twin.length - e.text.length;
    entities.push({ ...e, start, end: start + twin.length, text: twin });
  }
  return { ...d, text, entities };
}

describe('dense stores: the float32 SIMD filter finds exactly the float64 top k', () => {
  it('same top k as the dense scan of today, with ties, exclusions, tails and more than 16 query spans', async () => {
    const rnd = mulberry32(5);
    // dim 64: whole 16-float steps; 36: a 4-float tail; 30: no SIMD (not a multiple of 4)
    for (const dim of [64, 36, 30]) {
      const embedder = new NearTieEmbedder(dim);
      const half = randomPool(rnd, 1300, 400).map((d) => nearTwins(d, rnd));
      // every sentence twice: each score is tied at least two ways
      const docs = [...half, ...half].map((d, i) => ({ ...d, id: String(i) }));
      const index = await buildIndex(docs, { embedder, sentenceVectors: false });
      assert.equal(index.spanVectors.kind, 'dense');
      assert.ok(index.spanVectors.rows >= 256);
      const table = {
        vectors: index.spanVectors,
        spanVector: index.spanVector,
        spanSentence: index.spanSentence,
        sentences: docs.length,
      };
      const filtered = new SpanSimScorer(table);
      const dense = denseSpanMatrix(index);
      for (let q = 0; q < 12; q++) {
        const m = q === 11 ? 20 : 1 + Math.floor(rnd() * 5);
        // query spans near pool spans (as real queries are), so the top scores sit close together
        const vectors = await embedder.embed(
          Array.from({ length: m }, () => `w${Math.floor(rnd() * 400)}~9`),
        );
        const w = vectors.map(() => [1, 2, 4][Math.floor(rnd() * 3)]);
        const want = referenceSpanSimScores(vectors, w, dense, index.spanSentence, docs.length, dim);
        for (const k of [1, 5, 16]) {
          const exclude = new Set(topK(want, 3).map((h) => h.index));
          assert.deepEqual(filtered.topK(vectors, w, k), topK(want, k), `dim ${dim} query ${q} k ${k}`);
          assert.deepEqual(filtered.topK(vectors, w, k, exclude), topK(want, k, exclude));
        }
      }
      assert.equal(DenseKernel.for(index.spanVectors) === null, dim % 4 !== 0, 'the filter ran where it can');
    }
  });

  it('each float32 product is within its bound of the float64 plain loop, query-major', () => {
    const rnd = mulberry32(8);
    const rows = 300;
    const dim = 68;
    const data = Float32Array.from({ length: rows * dim }, () => rnd() * 2 - 1);
    const copy = Float32Array.from(data);
    const store = { kind: 'dense' as const, rows, dim, data, precision: 'f32' as const };
    const kernel = DenseKernel.for(store);
    assert.ok(kernel, 'WebAssembly SIMD runs on Node 20');
    assert.deepEqual(store.data, copy);
    assert.notEqual(store.data, data, 'the rows moved into the kernel memory');
    const queries = Array.from({ length: 19 }, () => Float32Array.from({ length: dim }, () => rnd() * 2 - 1));
    const { dots, bound } = kernel.dots(queries);
    let worst = 0;
    for (let i = 0; i < queries.length; i++)
      for (let r = 0; r < rows; r++) {
        let d = 0;
        for (let t = 0; t < dim; t++) d += queries[i][t] * copy[r * dim + t];
        const gap = Math.abs(dots[i * rows + r] - d);
        assert.ok(gap <= bound[i], `query ${i} row ${r}: ${gap} > ${bound[i]}`);
        worst = Math.max(worst, gap / bound[i]);
      }
    assert.ok(worst > 0, 'float32 sums differ from float64 ones somewhere: the bound is exercised');
    assert.equal(DenseKernel.for({ ...store, dim: 30, data: new Float32Array(rows * 30) }), null);
  });

  it('the committed kernel bytes are what dense-kernel.wat compiles to', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/build-wasm.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [script, '--check']);
    assert.match(stdout, /matches/);
  });
});

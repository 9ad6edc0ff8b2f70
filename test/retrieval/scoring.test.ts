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
import type { NerDocument } from '../../src/core/types.js';
import { mulberry32 } from '../../src/eval/random.js';
import { posWeight } from '../../src/pos/weights.js';
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

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cosineScores, mulberry32, randomK, spanSimScores, topK } from '../../src/retrieval/span-sim.js';

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}

/** Straightforward nested loops over objects: the reference for the vectorised version. */
function naiveSpanSim(query: Float32Array[], w: number[], poolSpans: Float32Array[][]): number[] {
  return poolSpans.map((spans) => {
    if (spans.length === 0) return 0;
    let num = 0;
    let den = 0;
    for (let i = 0; i < query.length; i++) {
      let best = Number.NEGATIVE_INFINITY;
      for (const c of spans) {
        let d = 0;
        for (let t = 0; t < c.length; t++) d += query[i][t] * c[t];
        best = Math.max(best, d);
      }
      num += w[i] * best;
      den += w[i];
    }
    return den > 0 ? num / den : 0;
  });
}

describe('spanSimScores', () => {
  it('equals a naive nested-loop implementation on random data (dense and sparse queries)', () => {
    const rnd = mulberry32(42);
    for (let trial = 0; trial < 25; trial++) {
      const dim = 8 + Math.floor(rnd() * 60);
      const nSent = 1 + Math.floor(rnd() * 30);
      const poolSpans: Float32Array[][] = [];
      for (let s = 0; s < nSent; s++) {
        const n = Math.floor(rnd() * 4); // 0..3 spans, some sentences have none
        const spans: Float32Array[] = [];
        for (let j = 0; j < n; j++) spans.push(unit(Float32Array.from({ length: dim }, () => rnd() * 2 - 1)));
        poolSpans.push(spans);
      }
      // Flatten in a shuffled span order: the map span -> sentence need not be sorted.
      const flat: { s: number; v: Float32Array }[] = [];
      poolSpans.forEach((spans, s) => {
        for (const v of spans) flat.push({ s, v });
      });
      for (let i = flat.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [flat[i], flat[j]] = [flat[j], flat[i]];
      }
      const matrix = new Float32Array(flat.length * dim);
      const map = new Int32Array(flat.length);
      flat.forEach((f, r) => {
        matrix.set(f.v, r * dim);
        map[r] = f.s;
      });
      const m = 1 + Math.floor(rnd() * 5);
      const query: Float32Array[] = [];
      for (let i = 0; i < m; i++) {
        const v = new Float32Array(dim);
        const sparse = rnd() < 0.5;
        for (let t = 0; t < dim; t++) if (!sparse || rnd() < 0.1) v[t] = rnd() * 2 - 1;
        if (sparse) v[Math.floor(rnd() * dim)] = 1;
        query.push(unit(v));
      }
      const w = query.map(() => [1, 2, 4][Math.floor(rnd() * 3)]);
      const got = spanSimScores(query, w, matrix, map, nSent, dim);
      const want = naiveSpanSim(query, w, poolSpans);
      assert.equal(got.length, nSent);
      for (let s = 0; s < nSent; s++)
        assert.ok(Math.abs(got[s] - want[s]) < 1e-6, `trial ${trial} sentence ${s}`);
    }
  });

  it('returns zeros for an empty query and checks its inputs', () => {
    const scores = spanSimScores([], [], new Float32Array(4), Int32Array.from([0, 1]), 2, 2);
    assert.deepEqual([...scores], [0, 0]);
    assert.throws(
      () => spanSimScores([new Float32Array(2)], [], new Float32Array(0), new Int32Array(0), 0, 2),
      /weight/,
    );
    assert.throws(
      () => spanSimScores([new Float32Array(3)], [1], new Float32Array(0), new Int32Array(0), 0, 2),
      /dimension/,
    );
  });

  it('weights the spans: the heavier span decides the ranking', () => {
    const e = (i: number) => Float32Array.from({ length: 3 }, (_, t) => (t === i ? 1 : 0));
    // Sentence 0 matches query span 0, sentence 1 matches query span 1.
    const matrix = new Float32Array([...e(0), ...e(1)]);
    const map = Int32Array.from([0, 1]);
    const a = spanSimScores([e(0), e(1)], [4, 1], matrix, map, 2, 3);
    assert.ok(a[0] > a[1]);
    assert.ok(Math.abs(a[0] - 0.8) < 1e-9);
    const b = spanSimScores([e(0), e(1)], [1, 4], matrix, map, 2, 3);
    assert.ok(b[1] > b[0]);
  });
});

describe('cosineScores', () => {
  it('is the dot product with each row', () => {
    const q = unit(Float32Array.from([1, 2, 0, 0]));
    const m = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    const s = cosineScores(q, m, 3, 4);
    assert.ok(Math.abs(s[0] - 1 / Math.sqrt(5)) < 1e-6);
    assert.ok(Math.abs(s[1] - 2 / Math.sqrt(5)) < 1e-6);
    assert.equal(s[2], 0);
  });
});

describe('topK', () => {
  it('orders by score, ties to the lower index', () => {
    const scores = [0.5, 0.9, 0.5, 0.9, 0.1, 0.5];
    assert.deepEqual(
      topK(scores, 4).map((r) => r.index),
      [1, 3, 0, 2],
    );
    assert.deepEqual(
      topK(scores, 10).map((r) => r.index),
      [1, 3, 0, 2, 5, 4],
    );
    assert.deepEqual(topK(scores, 0), []);
  });

  it('agrees with a full sort on random scores with many ties', () => {
    const rnd = mulberry32(7);
    for (let trial = 0; trial < 50; trial++) {
      const n = Math.floor(rnd() * 200);
      const scores = Array.from({ length: n }, () => Math.floor(rnd() * 10) / 10);
      const k = 1 + Math.floor(rnd() * 12);
      const want = scores
        .map((score, index) => ({ index, score }))
        .sort((a, b) => b.score - a.score || a.index - b.index)
        .slice(0, k);
      assert.deepEqual(topK(scores, k), want);
    }
  });

  it('skips excluded indices and puts NaN last', () => {
    assert.deepEqual(
      topK([Number.NaN, 0.2, 0.9, 0.3], 3, new Set([2])).map((r) => r.index),
      [3, 1, 0],
    );
  });
});

describe('randomK', () => {
  it('is seeded, distinct and honours exclusions', () => {
    const a = randomK(1000, 5, 123);
    assert.deepEqual(a, randomK(1000, 5, 123));
    assert.notDeepEqual(a, randomK(1000, 5, 124));
    assert.equal(new Set(a).size, 5);
    const all = randomK(6, 10, 1, new Set([0, 5]));
    assert.deepEqual([...all].sort(), [1, 2, 3, 4]);
  });
});

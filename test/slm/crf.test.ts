import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../src/core/random.js';
import {
  type CrfShape,
  CrfWorkspace,
  computeScores,
  type EncodedSentence,
  forwardBackward,
  paramCount,
  segmentProbability,
  sentenceNllGrad,
  sequenceScore,
  tokenMarginal,
  viterbi,
} from '../../src/slm/crf.js';

function randomCase(seed: number, n: number, L: number, F: number, scale = 2) {
  const rand = mulberry32(seed);
  const shape: CrfShape = { numLabels: L, numFeatures: F };
  const w = new Float64Array(paramCount(shape));
  for (let i = 0; i < w.length; i++) w[i] = (rand() * 2 - 1) * scale;
  const featStart = new Int32Array(n + 1);
  const feats: number[] = [];
  for (let t = 0; t < n; t++) {
    featStart[t] = feats.length;
    const k = 1 + Math.floor(rand() * 3);
    for (let j = 0; j < k; j++) feats.push(Math.floor(rand() * F));
  }
  featStart[n] = feats.length;
  const labels = Int32Array.from({ length: n }, () => Math.floor(rand() * L));
  const s: EncodedSentence = { n, featStart, feats: Int32Array.from(feats), labels };
  return { shape, w, s };
}

/** Every label sequence with its unnormalised score. */
function enumerate(w: Float64Array, shape: CrfShape, s: EncodedSentence) {
  const ws = new CrfWorkspace(shape.numLabels);
  computeScores(w, shape, s, ws);
  const L = shape.numLabels;
  const out: { seq: Int32Array; score: number }[] = [];
  const seq = new Int32Array(s.n);
  const total = L ** s.n;
  for (let code = 0; code < total; code++) {
    let c = code;
    for (let t = 0; t < s.n; t++) {
      seq[t] = c % L;
      c = Math.floor(c / L);
    }
    out.push({ seq: Int32Array.from(seq), score: sequenceScore(w, shape, s.n, ws, seq) });
  }
  return out;
}

function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}

test('forward-backward matches brute-force enumeration (log Z and marginals)', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const n = 1 + (seed % 5);
    const L = 2 + (seed % 3);
    const { shape, w, s } = randomCase(seed, n, L, 7, seed % 2 ? 2 : 30);
    const all = enumerate(w, shape, s);
    const logZ = logSumExp(all.map((a) => a.score));
    const ws = new CrfWorkspace(L);
    ws.prepareTransitions(w, shape);
    computeScores(w, shape, s, ws);
    const got = forwardBackward(n, ws);
    assert.ok(
      Math.abs(got - logZ) < 1e-8 * Math.max(1, Math.abs(logZ)),
      `seed ${seed}: logZ ${got} vs ${logZ}`,
    );
    const m = new Float64Array(L);
    for (let t = 0; t < n; t++) {
      tokenMarginal(t, ws, m);
      for (let y = 0; y < L; y++) {
        const brute = all.filter((a) => a.seq[t] === y).reduce((acc, a) => acc + Math.exp(a.score - logZ), 0);
        assert.ok(Math.abs(m[y] - brute) < 1e-9, `seed ${seed} t ${t} y ${y}: ${m[y]} vs ${brute}`);
      }
    }
  }
});

test('Viterbi finds the highest-scoring sequence', () => {
  for (let seed = 20; seed < 30; seed++) {
    const { shape, w, s } = randomCase(seed, 1 + (seed % 6), 3, 5);
    const all = enumerate(w, shape, s);
    const bestScore = Math.max(...all.map((a) => a.score));
    const ws = new CrfWorkspace(3);
    computeScores(w, shape, s, ws);
    const out = new Int32Array(s.n);
    const score = viterbi(w, shape, s.n, ws, out);
    assert.ok(Math.abs(score - bestScore) < 1e-9);
    assert.ok(Math.abs(sequenceScore(w, shape, s.n, ws, out) - bestScore) < 1e-9);
  }
});

test('NLL is -log p(gold) and its gradient matches finite differences', () => {
  for (let seed = 40; seed < 44; seed++) {
    const { shape, w, s } = randomCase(seed, 4, 3, 6);
    const ws = new CrfWorkspace(3);
    const nllAt = (x: Float64Array) => {
      ws.prepareTransitions(x, shape);
      return sentenceNllGrad(x, shape, s, ws, new Float64Array(x.length));
    };
    const all = enumerate(w, shape, s);
    const logZ = logSumExp(all.map((a) => a.score));
    const gold = all.find((a) => a.seq.every((v, i) => v === s.labels?.[i]));
    assert.ok(gold);
    assert.ok(Math.abs(nllAt(w) - (logZ - gold.score)) < 1e-9);

    const g = new Float64Array(w.length);
    ws.prepareTransitions(w, shape);
    sentenceNllGrad(w, shape, s, ws, g);
    const h = 1e-6;
    for (let i = 0; i < w.length; i++) {
      const plus = Float64Array.from(w);
      const minus = Float64Array.from(w);
      plus[i] += h;
      minus[i] -= h;
      const fd = (nllAt(plus) - nllAt(minus)) / (2 * h);
      assert.ok(Math.abs(fd - g[i]) < 1e-5, `seed ${seed} param ${i}: analytic ${g[i]} vs numeric ${fd}`);
    }
  }
});

test('segmentProbability matches brute-force enumeration (a label path, with and without the labels barred after it)', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const n = 2 + (seed % 4);
    const L = 3;
    const { shape, w, s } = randomCase(300 + seed, n, L, 6);
    const ws = new CrfWorkspace(L);
    ws.prepareTransitions(w, shape);
    computeScores(w, shape, s, ws);
    const logZ = forwardBackward(n, ws);
    const all = enumerate(w, shape, s);
    const rand = mulberry32(seed);
    for (let trial = 0; trial < 8; trial++) {
      const start = Math.floor(rand() * n);
      const len = 1 + Math.floor(rand() * (n - start));
      const path = Int32Array.from({ length: len }, () => Math.floor(rand() * L));
      const barred = new Set([Math.floor(rand() * L)]);
      for (const notAfter of [new Set<number>(), barred]) {
        const brute = all
          .filter(
            (a) =>
              path.every((y, i) => a.seq[start + i] === y) &&
              (start + len === n || !notAfter.has(a.seq[start + len])),
          )
          .reduce((acc, a) => acc + Math.exp(a.score - logZ), 0);
        const got = segmentProbability(ws, n, start, path, notAfter);
        assert.ok(Math.abs(got - brute) < 1e-9, `seed ${seed} start ${start} len ${len}: ${got} vs ${brute}`);
      }
    }
  }
});

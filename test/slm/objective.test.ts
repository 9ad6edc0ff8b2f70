import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../src/core/random.js';
import { type CrfShape, type EncodedSentence, paramCount } from '../../src/slm/crf.js';
import { LocalGradient, ParallelGradient } from '../../src/slm/objective.js';

test('the worker-thread gradient equals the single-thread gradient', async () => {
  const rand = mulberry32(7);
  const shape: CrfShape = { numLabels: 4, numFeatures: 30 };
  const sentences: EncodedSentence[] = [];
  for (let i = 0; i < 40; i++) {
    const n = 1 + Math.floor(rand() * 8);
    const featStart = new Int32Array(n + 1);
    const feats: number[] = [];
    for (let t = 0; t < n; t++) {
      featStart[t] = feats.length;
      for (let k = 0; k < 3; k++) feats.push(Math.floor(rand() * 30));
    }
    featStart[n] = feats.length;
    const labels = Int32Array.from({ length: n }, () => Math.floor(rand() * 4));
    sentences.push({ n, featStart, feats: Int32Array.from(feats), labels });
  }
  const w = Float64Array.from({ length: paramCount(shape) }, () => rand() - 0.5);
  const local = new LocalGradient(shape, sentences, 0.1);
  const parallel = ParallelGradient.create(shape, sentences, 0.1, 2);
  try {
    const g1 = new Float64Array(w.length);
    const g2 = new Float64Array(w.length);
    const f1 = await local.evaluate(w, g1);
    const f2 = await parallel.evaluate(w, g2);
    assert.ok(Math.abs(f1 - f2) < 1e-8 * Math.abs(f1));
    for (let i = 0; i < w.length; i++) assert.ok(Math.abs(g1[i] - g2[i]) < 1e-9, `g[${i}]`);
    // A second evaluation at other weights reuses the workers.
    w[3] += 1;
    const f3 = await local.evaluate(w, g1);
    const f4 = await parallel.evaluate(w, g2);
    assert.ok(Math.abs(f3 - f4) < 1e-8 * Math.abs(f3));
  } finally {
    await parallel.close();
  }
});

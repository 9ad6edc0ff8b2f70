import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '../../src/core/random.js';
import {
  bisectingKMeans,
  clustersFromText,
  loadResource,
  parseClusterText,
  WordClusters,
} from '../../src/slm/clusters.js';
import { DEFAULT_FEATURES, sentenceFeatures } from '../../src/slm/features.js';

/** Length of the common prefix of two path codes. */
function common(a: number, b: number): number {
  const da = 31 - Math.clz32(a);
  const db = 31 - Math.clz32(b);
  let k = 0;
  while (k < Math.min(da, db) && WordClusters.prefix(a, k + 1) === WordClusters.prefix(b, k + 1)) k++;
  return k;
}

test('path prefixes: a short path is its own prefix, a long one is cut', async () => {
  const code = Number.parseInt('1' + '0110', 2);
  assert.equal(WordClusters.prefix(code, 2), 0b101);
  assert.equal(WordClusters.prefix(code, 4), code);
  assert.equal(WordClusters.prefix(code, 9), code);
  assert.deepEqual(
    [...(await parseClusterText('# header\nparis\t0110\nrome\t0111\n', 't'))],
    [
      ['paris', code],
      ['rome', code + 1],
    ],
  );
  await assert.rejects(() => parseClusterText('paris 0110\n', 'f.tsv'), /f\.tsv:1: expected/);
});

test('bisecting k-means puts two separated groups on the two sides of the first split', async () => {
  const rand = mulberry32(3);
  const n = 200;
  const d = 8;
  const v = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) v[i * d + k] = rand() * 0.2;
    v[i * d + (i < 100 ? 0 : 1)] += 1;
  }
  const codes = await bisectingKMeans(v, n, d, { depth: 6 });
  const firstBit = (c: number) => WordClusters.prefix(c, 1) & 1;
  const side = firstBit(codes[0]);
  for (let i = 0; i < n; i++) assert.equal(firstBit(codes[i]), i < 100 ? side : 1 - side, `row ${i}`);
  for (const c of codes) assert.ok(31 - Math.clz32(c) <= 6);
});

test('clusters from text group words that share their neighbours', async () => {
  const cities = ['paris', 'rome', 'berlin', 'madrid', 'vienna', 'oslo'];
  const foods = ['bread', 'rice', 'cheese', 'pasta', 'soup', 'fish'];
  const sentences: string[][] = [];
  const rand = mulberry32(5);
  for (let i = 0; i < 600; i++) {
    const c = cities[Math.floor(rand() * cities.length)];
    const f = foods[Math.floor(rand() * foods.length)];
    sentences.push(['we', 'flew', 'to', c, 'in', 'june']);
    sentences.push(['they', 'ate', 'some', f, 'with', 'wine']);
  }
  const cl = await clustersFromText(sentences, 'text', { depth: 8, minSize: 2 });
  const code = (w: string) => cl.code(w) as number;
  let within = 0;
  let across = 0;
  for (const a of cities) {
    for (const b of cities) if (a !== b) within += common(code(a), code(b));
    for (const b of foods) across += common(code(a), code(b));
  }
  assert.ok(within / 30 > across / 36, `within-group prefix ${within / 30} vs across ${across / 36}`);
  for (const a of cities) for (const b of foods) assert.ok(common(code(a), code(b)) < 8);
  // The embedded spec round-trips.
  const back = await WordClusters.fromSpec(cl.spec);
  assert.equal(back.code('paris'), cl.code('paris'));
});

test('the shipped GloVe clusters load and group related words', async () => {
  const { clusters, sha256 } = await loadResource('glove-100d');
  assert.ok(clusters.size >= 100_000);
  assert.match(sha256, /^[0-9a-f]{64}$/);
  const g = (w: string) => clusters.code(w) as number;
  assert.ok(common(g('germany'), g('france')) > common(g('germany'), g('tuesday')));
  assert.ok(common(g('monday'), g('tuesday')) >= 8);
  await assert.rejects(
    () => WordClusters.fromSpec({ name: 'glove-100d', source: 'resource', sha256: '0'.repeat(64) }),
    /differ from those the model was trained with/,
  );
  // Features: the token's path prefixes, its neighbours', and a marker for a word with no cluster.
  const f = sentenceFeatures(['Germany', 'won', 'qwzxv'], DEFAULT_FEATURES, undefined, [clusters]);
  const pre = (w: string, len: number) => WordClusters.prefix(g(w), len);
  assert.ok(f[0].includes(`c0:4=${pre('germany', 4)}`) && f[0].includes(`c0:16=${pre('germany', 16)}`));
  assert.ok(f[1].includes(`c0-1:8=${pre('germany', 8)}`));
  assert.ok(f[2].includes('c0=none'));
});

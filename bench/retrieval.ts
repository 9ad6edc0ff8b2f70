/**
 * Retrieval benchmark (offline): index build/load time on the CoNLL-2003 train pool, query
 * latency of every retrieval mode for pools of 1k, 10k and 100k sentences (the train pool
 * repeated), and a retrieval-quality proxy for the POS weight schemes.
 *
 *   node --import tsx bench/retrieval.ts [--queries 200] [--quality 500] [--k 5]
 *
 * Spans are the gold spans, the embedder is the lexical character n-gram embedder (dim 1024).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NerDocument } from '../src/core/types.js';
import { loadPosTagger } from '../src/pos/tagger.js';
import { LexicalEmbedder } from '../src/retrieval/embedders.js';
import { buildIndex, loadIndex, type PoolIndex, saveIndex } from '../src/retrieval/index.js';
import { parsePoolJsonl } from '../src/retrieval/pool-reader.js';
import { DemonstrationRetriever, type RetrievalMode } from '../src/retrieval/retriever.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.resolve(repoRoot, '../shared/data');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const N_QUERIES = arg('queries', 200);
const N_QUALITY = arg('quality', 500);
const K = arg('k', 5);

async function read(set: string, split: string): Promise<NerDocument[]> {
  const f = path.join(dataDir, set, `${split}.jsonl`);
  return parsePoolJsonl(await readFile(f, 'utf8'), f);
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
}

const ms = (x: number) => x.toFixed(x < 10 ? 2 : 1);

/** A pool of n sentences made by repeating `base` (vectors copied, nothing re-embedded). */
function tile(base: PoolIndex, n: number): PoolIndex {
  const nb = base.docs.length;
  const dim = base.dim;
  const copies = Math.ceil(n / nb);
  const docs: NerDocument[] = [];
  const sentences = new Float32Array(n * dim);
  const baseSent = base.sentenceVectors!;
  for (let i = 0; i < n; i++) {
    const b = i % nb;
    docs.push(i < nb ? base.docs[b] : { ...base.docs[b], id: `${base.docs[b].id}#${Math.floor(i / nb)}` });
    sentences.set(baseSent.subarray(b * dim, (b + 1) * dim), i * dim);
  }
  let nSpans = 0;
  for (let c = 0; c < copies; c++) {
    for (let j = 0; j < base.spanSentence.length; j++) if (c * nb + base.spanSentence[j] < n) nSpans++;
  }
  const spanVectors = new Float32Array(nSpans * dim);
  const spanSentence = new Int32Array(nSpans);
  const spanMeta = new Int32Array(nSpans * 3);
  let r = 0;
  for (let c = 0; c < copies; c++) {
    for (let j = 0; j < base.spanSentence.length; j++) {
      const s = c * nb + base.spanSentence[j];
      if (s >= n) continue;
      spanVectors.set(base.spanVectors.subarray(j * dim, (j + 1) * dim), r * dim);
      spanSentence[r] = s;
      spanMeta.set(base.spanMeta.subarray(3 * j, 3 * j + 3), 3 * r);
      r++;
    }
  }
  return {
    manifest: { ...base.manifest, sentences: n, spans: nSpans },
    docs,
    dim,
    spanVectors,
    spanSentence,
    spanMeta,
    sentenceVectors: sentences,
  };
}

function querySpans(d: NerDocument) {
  return d.entities.map((e) => ({ text: e.text, start: e.start, end: e.end }));
}

async function main() {
  const embedder = new LexicalEmbedder();
  const train = await read('conll2003', 'train');
  const dev = (await read('conll2003', 'dev')).filter((d) => d.entities.length > 0);
  await loadPosTagger(); // wink load time is not part of any figure below

  // 1. Build and load the 14k CoNLL train pool.
  const dir = await mkdtemp(path.join(tmpdir(), 'el4ner-bench-retrieval-'));
  let t = performance.now();
  const base = await buildIndex(train, { embedder });
  const buildMs = performance.now() - t;
  t = performance.now();
  await saveIndex(base, dir);
  const saveMs = performance.now() - t;
  const loads: number[] = [];
  const loadsFull: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    await loadIndex(dir, { lazySentences: true });
    loads.push(performance.now() - t);
    t = performance.now();
    await loadIndex(dir);
    loadsFull.push(performance.now() - t);
  }
  await rm(dir, { recursive: true, force: true });
  console.log('## Index of the CoNLL-2003 train pool (lexical embedder, dim 1024, gold spans)\n');
  console.log(
    '| sentences | spans | build (s) | save (s) | load, span matrix only (ms, median of 5) | load, with sentence matrix (ms, median of 5) |',
  );
  console.log('|---:|---:|---:|---:|---:|---:|');
  console.log(
    `| ${base.docs.length} | ${base.manifest.spans} | ${(buildMs / 1000).toFixed(2)} | ${(saveMs / 1000).toFixed(2)} | ${ms(quantile(loads, 0.5))} | ${ms(quantile(loadsFull, 0.5))} |\n`,
  );

  // 2. Query latency by pool size.
  console.log(`## Query latency (${N_QUERIES} CoNLL dev queries, query spans = gold spans, k = ${K})\n`);
  console.log(
    'Per query: POS tagging of the query, embedding of its spans, scoring of the whole pool, top-k.\n',
  );
  console.log('| pool sentences | pool spans | mode | median (ms) | p95 (ms) |');
  console.log('|---:|---:|---|---:|---:|');
  const queries = dev.slice(0, N_QUERIES);
  for (const n of [1_000, 10_000, 100_000]) {
    const idx = n <= base.docs.length ? tile(base, n) : tile(base, n);
    const r = DemonstrationRetriever.fromIndex(idx, embedder);
    for (const mode of ['span-level', 'sentence-embedding', 'random'] as RetrievalMode[]) {
      const nq = n >= 100_000 && mode !== 'random' ? Math.min(100, queries.length) : queries.length;
      await r.retrieve(querySpans(queries[0]), queries[0].text, { mode, k: K }); // warm-up
      const times: number[] = [];
      for (const q of queries.slice(0, nq)) {
        t = performance.now();
        await r.retrieve(querySpans(q), q.text, { mode, k: K });
        times.push(performance.now() - t);
      }
      console.log(
        `| ${n} | ${idx.manifest.spans} | ${mode} | ${ms(quantile(times, 0.5))} | ${ms(quantile(times, 0.95))} |`,
      );
    }
  }
  console.log();

  // 3. Quality proxy for the weight schemes.
  await quality('conll2003', train, dev, base);
  const wtrain = await read('wnut17', 'train');
  const wdev = (await read('wnut17', 'dev')).filter((d) => d.entities.length > 0);
  await quality('wnut17', wtrain, wdev);
}

async function quality(
  set: string,
  pool: NerDocument[],
  devWithEntities: NerDocument[],
  prebuilt?: PoolIndex,
) {
  const embedder = new LexicalEmbedder();
  const queries = devWithEntities.slice(0, N_QUALITY);
  const variants: {
    name: string;
    mode: RetrievalMode;
    weights?: 'default' | 'paper-rank' | 'uniform';
    posOf?: 'first' | 'head';
  }[] = [
    {
      name: 'span-level, default (PROPN 4, NOUN 2, PRON 1), first word',
      mode: 'span-level',
      weights: 'default',
    },
    {
      name: 'span-level, paper-rank (PROPN 1, NOUN 2, PRON 4), first word',
      mode: 'span-level',
      weights: 'paper-rank',
    },
    { name: 'span-level, uniform weights', mode: 'span-level', weights: 'uniform' },
    { name: 'span-level, default, head word', mode: 'span-level', weights: 'default', posOf: 'head' },
    { name: 'span-level, paper-rank, head word', mode: 'span-level', weights: 'paper-rank', posOf: 'head' },
    { name: 'sentence-embedding', mode: 'sentence-embedding' },
    { name: 'random', mode: 'random' },
  ];
  const first = prebuilt
    ? DemonstrationRetriever.fromIndex(prebuilt, embedder)
    : await DemonstrationRetriever.build(pool, { embedder });
  const head = await DemonstrationRetriever.build(pool, { embedder, posOf: 'head' });
  // POS mix of the query spans (weights only matter when a query mixes POS).
  const posCount = new Map<string, number>();
  let mixed = 0;
  for (const q of queries) {
    const pos = await first.queryPos(querySpans(q), q.text);
    for (const p of pos) posCount.set(p, (posCount.get(p) ?? 0) + 1);
    if (new Set(pos.map((p) => (['PROPN', 'NOUN', 'PRON'].includes(p) ? p : 'other'))).size > 1) mixed++;
  }
  const totalSpans = [...posCount.values()].reduce((a, b) => a + b, 0);
  const posMix = [...posCount]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([p, c]) => `${p} ${((100 * c) / totalSpans).toFixed(1)}%`)
    .join(', ');
  console.log(
    `## Retrieval quality proxy: ${set} (${queries.length} dev sentences with entities, pool = ${pool.length} train sentences, k = ${K})\n`,
  );
  console.log(
    `Query spans (gold) by first-word POS: ${posMix}; queries whose spans mix weight classes: ${mixed}.\n`,
  );
  console.log(
    "share@k = retrieved demonstrations that contain at least one entity type of the query; type coverage = mean share of the query's entity types present among the k demonstrations; mention hit = query entities whose exact text is an entity of some demonstration.\n",
  );
  console.log('| retrieval | share@k | type coverage | mention hit |');
  console.log('|---|---:|---:|---:|');
  for (const v of variants) {
    const r = v.posOf === 'head' ? head : first;
    let share = 0;
    let shareN = 0;
    let cover = 0;
    let hit = 0;
    let hitN = 0;
    for (const q of queries) {
      const types = new Set(q.entities.map((e) => e.type));
      const res = await r.retrieve(querySpans(q), q.text, {
        mode: v.mode,
        k: K,
        weights: v.weights,
        seed: 13,
      });
      const demoTypes = new Set<string>();
      const demoMentions = new Set<string>();
      for (const x of res) {
        const d = r.sentence(x.index);
        shareN++;
        if (d.entities.some((e) => types.has(e.type))) share++;
        for (const e of d.entities) {
          demoTypes.add(e.type);
          demoMentions.add(e.text);
        }
      }
      cover += [...types].filter((ty) => demoTypes.has(ty)).length / types.size;
      for (const e of q.entities) {
        hitN++;
        if (demoMentions.has(e.text)) hit++;
      }
    }
    console.log(
      `| ${v.name} | ${(share / shareN).toFixed(3)} | ${(cover / queries.length).toFixed(3)} | ${(hit / hitN).toFixed(3)} |`,
    );
  }
  console.log();
}

await main();

/**
 * Why is a set's recall low? Trains the CRF once per variant (one suspect changed at a time)
 * on train, with dev for early stopping, and prints dev and test strict micro P/R/F1 of each.
 * Choices are read off the dev columns; test is printed to explain the figure, not to tune.
 *
 *   node --import tsx bench/slm-diagnose.ts [--set wnut17] [--base default|old|lexicons] [--only name,name]
 *     [--max-iter N (the recipe's budget)] [--json out.json]
 *
 * `--base old` runs every variant on top of the recipe before issue 15 (no word clusters, no shape
 * conjunctions, no O bias, no document features) instead of the current default; `--base
 * lexicons` on top of the default plus the name and place lists (`train-slm --lexicons`).
 *
 * Variants: baseline (the current default recipe), c2 grid, no early stopping, gazetteer off /
 * full (no jackknife), every token lower-cased (no case information), training sentences
 * doubled with a lower-cased copy, a minimal feature set, the word-cluster and shape-conjunction
 * families of features left out one at a time, the document features off or with other windows
 * (kept whatever the training order), and train + dev (after the baseline, with its iteration
 * count and O bias).
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NerDocument } from '../src/core/types.js';
import { readJsonlDocuments, strictMicro } from '../src/slm/data.js';
import { DEFAULT_TRAIN, type TrainOptions, trainCrf } from '../src/slm/tagger.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../..');
const dataDir = resolve(repoRoot, '../shared/data');

const args = process.argv.slice(2);
let set = 'wnut17';
let only: string[] | undefined;
let maxIter: number = DEFAULT_TRAIN.maxIterations;
let jsonOut: string | undefined;
let base: Partial<TrainOptions> = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--set') set = args[++i];
  else if (a === '--only') only = args[++i].split(',');
  else if (a === '--max-iter') maxIter = Number(args[++i]);
  else if (a === '--json') jsonOut = args[++i];
  else if (a === '--base') {
    const b = args[++i];
    if (b === 'old')
      base = {
        clusterSources: [],
        lexicons: [],
        tuneOBias: false,
        features: { shapeConjunctions: false, documentWindows: [] },
      };
    else if (b === 'lexicons') base = { lexicons: ['en-names-places'] };
    else if (b !== 'default') throw new Error(`--base takes default, old or lexicons, got ${b}`);
  } else throw new Error(`unknown argument ${a}`);
}

/** The same documents with every token (and the text) lower-cased; offsets do not change. */
function lowerCased(docs: readonly NerDocument[]): NerDocument[] {
  return docs.map((d) => ({
    ...d,
    text: d.text.toLowerCase(),
    tokens: d.tokens?.map((t) => ({ ...t, text: t.text.toLowerCase() })),
    entities: d.entities.map((e) => ({ ...e, text: e.text.toLowerCase() })),
  }));
}

interface Variant {
  name: string;
  what: string;
  opts?: Partial<TrainOptions>;
  /** Transforms train, dev and test alike (or only train when trainOnly). */
  data?: (docs: readonly NerDocument[]) => NerDocument[];
  trainOnly?: boolean;
  /** Trains on train + dev with the iteration count and O bias of this run's baseline (no dev). */
  withDev?: boolean;
}

const variants: Variant[] = [
  { name: 'baseline', what: 'the default recipe' },
  { name: 'c2=0.01', what: 'L2 c2 = 0.01', opts: { c2: 0.01 } },
  { name: 'c2=0.05', what: 'L2 c2 = 0.05', opts: { c2: 0.05 } },
  { name: 'c2=0.3', what: 'L2 c2 = 0.3', opts: { c2: 0.3 } },
  { name: 'c2=1', what: 'L2 c2 = 1 (CRFsuite default)', opts: { c2: 1 } },
  { name: 'c2=3', what: 'L2 c2 = 3', opts: { c2: 3 } },
  { name: 'last-iter', what: 'no early stopping: the last iteration is kept', opts: { keepBest: false } },
  { name: 'gaz-off', what: 'no gazetteer', opts: { features: { gazetteer: false } } },
  {
    name: 'gaz-full',
    what: 'gazetteer of all training entities while training (no jackknife)',
    opts: { gazetteerTraining: 'full' },
  },
  { name: 'lowercase', what: 'every token lower-cased in train, dev and test', data: lowerCased },
  {
    name: 'case-augment',
    what: 'training sentences plus a lower-cased copy of each',
    data: (docs) => [...docs, ...lowerCased(docs)],
    trainOnly: true,
  },
  {
    name: 'minimal',
    what: 'word, lower-cased word, shapes, affixes only (no context, gazetteer, clusters)',
    opts: {
      features: {
        window: 0,
        gazetteer: false,
        sentenceCaps: false,
        bigrams: false,
        shapeConjunctions: false,
      },
      clusterSources: [],
      lexicons: [],
    },
  },
  { name: 'no-clusters', what: 'no word clusters', opts: { clusterSources: [] } },
  { name: 'glove-only', what: 'only the shipped GloVe clusters', opts: { clusterSources: ['glove'] } },
  {
    name: 'text-only',
    what: 'only clusters learned from the training text',
    opts: { clusterSources: ['text'] },
  },
  {
    name: 'no-cluster-context',
    what: 'clusters of the token only (not of its neighbours)',
    opts: { features: { clusterWindow: 0 } },
  },
  {
    name: 'disjunctive',
    what: 'plus the words within 4 tokens left / right as two bags',
    opts: { features: { disjunctive: 4 } },
  },
  {
    name: 'no-doc-context',
    what: 'no document features (the recipe before them)',
    opts: { features: { documentWindows: [] } },
  },
  {
    name: 'doc-context',
    what: 'document features from the 10 sentences before and after (src/slm/context.ts)',
    opts: { features: { documentWindows: [10] } },
  },
  {
    name: 'doc-context-4',
    what: 'the same from 4 sentences before and after',
    opts: { features: { documentWindows: [4] } },
  },
  {
    name: 'doc-context-4+12',
    what: 'the same from 4 and (a second family) from 12 sentences before and after',
    opts: { features: { documentWindows: [4, 12] } },
  },
  {
    name: 'doc-context-4+disjunctive',
    what: 'doc-context-4 plus the disjunctive word bags',
    opts: { features: { documentWindows: [4], disjunctive: 4 } },
  },
  {
    name: 'train+dev',
    what: "trained on train + dev, the baseline's iteration count and O bias (dev scores are not held out)",
    withDev: true,
  },
  { name: 'no-shape-conj', what: 'no shape conjunctions', opts: { features: { shapeConjunctions: false } } },
  {
    name: 'no-cjk-words',
    what: 'without the jieba words of Chinese characters',
    opts: { features: { cjkWords: false } },
  },
  {
    name: 'lexicons',
    what: 'plus the name and place lists (src/slm/lexicons.ts)',
    opts: { lexicons: ['en-names-places'] },
  },
];

const trainFile = resolve(dataDir, set, 'train.jsonl');
const devFile = resolve(dataDir, set, 'dev.jsonl');
if (!existsSync(trainFile) || !existsSync(devFile)) throw new Error(`${set}: needs train and dev splits`);
const train0 = await readJsonlDocuments(trainFile);
const dev0 = await readJsonlDocuments(devFile);
const test0 = await readJsonlDocuments(resolve(dataDir, set, 'test.jsonl'));

const fmt = (x: number) => (100 * x).toFixed(2);
const results: Record<string, unknown>[] = [];
console.log('| variant | what | iter | dev P | dev R | dev F1 | test P | test R | test F1 |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const v of variants) {
  if (only && !only.includes(v.name)) continue;
  const tf = v.data ?? ((d: readonly NerDocument[]) => [...d]);
  const train = tf(train0);
  const dev = v.trainOnly || !v.data ? dev0 : v.data(dev0);
  const test = v.trainOnly || !v.data ? test0 : v.data(test0);
  let devOpts: Partial<TrainOptions> = { dev };
  if (v.withDev) {
    const b = results.find((r) => r.variant === 'baseline');
    if (!b) throw new Error(`${v.name} needs the baseline in the same run (--only baseline,${v.name})`);
    train.push(...dev0);
    devOpts = { dev: undefined, maxIterations: Number(b.iter), oBias: Number(b.oBias) };
  }
  const tagger = await trainCrf(train, {
    ...DEFAULT_TRAIN,
    maxIterations: maxIter,
    ...devOpts,
    ...base,
    ...v.opts,
    features: { ...base.features, ...v.opts?.features },
    log: (l) => {
      if (/^(crf:|final|keeping|O bias)/.test(l)) console.error(`${v.name}: ${l}`);
    },
  });
  const d = tagger.evaluate(dev);
  const t = strictMicro(test, tagger.predictAll(test));
  const iter = Number(tagger.training.keptIteration ?? tagger.training.iterations);
  results.push({ variant: v.name, iter, oBias: tagger.training.oBias ?? 0, dev: d, test: t });
  console.log(
    `| ${v.name} | ${v.what} | ${iter} | ${fmt(d.p)} | ${fmt(d.r)} | ${fmt(d.f1)} | ${fmt(t.p)} | ${fmt(t.r)} | ${fmt(t.f1)} |`,
  );
}
if (jsonOut) await writeFile(jsonOut, JSON.stringify({ set, maxIter, results }, null, 2));

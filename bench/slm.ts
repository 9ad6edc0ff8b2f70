/**
 * CRF tagger benchmark: trains on each set's train split (dev, when there is one, picks the
 * best iteration), scores strict micro P/R/F1 on test, and times training and tagging.
 *
 *   node --import tsx bench/slm.ts [set...] [--max-iter N] [--c2 X] [--clusters glove,text|none]
 *     [--lexicons en-names-places|auto|none] [--train-dev] [--threads N] [--json out.json]
 *
 * `--train-dev` trains on train + dev (as the WNUT-17 shared task allowed) with no dev given, so
 * the recipe holds a tenth of those sentences out to stop on, as `train-slm` does without `--dev`.
 *
 * Without set names it runs every shared set that has a train split.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { readJsonlDocuments } from '../src/slm/data.js';
import { DEFAULT_TRAIN, trainCrfRecipe } from '../src/slm/tagger.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../..');
const dataDir = resolve(repoRoot, '../shared/data');

const ALL_SETS = [
  'conll2003',
  'wnut17',
  'crossner_ai',
  'crossner_literature',
  'crossner_music',
  'crossner_politics',
  'crossner_science',
  'litbank',
  'chisiec',
  'weibo',
  'resume',
  'mit_movie',
  'mit_movie_trivia',
];

const args = process.argv.slice(2);
const sets: string[] = [];
let maxIter: number = DEFAULT_TRAIN.maxIterations;
let c2: number = DEFAULT_TRAIN.c2;
let jsonOut: string | undefined;
let threads = 1;
let clusterSources: ('glove' | 'text')[] | undefined;
let lexicons: string[] | undefined;
/** `--lexicons auto`: trained with and without the lists, the better on dev kept (sets with a dev split). */
let chooseLexicons = false;
let trainOnDev = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--max-iter') maxIter = Number(args[++i]);
  else if (a === '--c2') c2 = Number(args[++i]);
  else if (a === '--json') jsonOut = args[++i];
  else if (a === '--threads') threads = Number(args[++i]);
  else if (a === '--train-dev') trainOnDev = true;
  else if (a === '--clusters') {
    const v = args[++i];
    clusterSources = v === 'none' ? [] : (v.split(',') as ('glove' | 'text')[]);
  } else if (a === '--lexicons') {
    const v = args[++i];
    chooseLexicons = v === 'auto';
    lexicons = v === 'none' ? [] : chooseLexicons ? ['en-names-places'] : v.split(',');
  } else sets.push(a);
}

interface Row {
  set: string;
  train: number;
  test: number;
  scheme: string;
  features: number;
  iterations: number;
  oBias: number;
  p: number;
  r: number;
  f1: number;
  trainSeconds: number;
  sentencesPerSecond: number;
  /** A set without dev: the held-out share of train that picked the iteration and O bias. */
  heldOutDev?: unknown;
}

const rows: Row[] = [];
for (const set of sets.length ? sets : ALL_SETS) {
  const trainFile = resolve(dataDir, set, 'train.jsonl');
  const devFile = resolve(dataDir, set, 'dev.jsonl');
  const testFile = resolve(dataDir, set, 'test.jsonl');
  if (!existsSync(trainFile)) {
    console.error(`${set}: no train split, skipped`);
    continue;
  }
  const devDocs = existsSync(devFile) ? await readJsonlDocuments(devFile) : undefined;
  const train = [...(await readJsonlDocuments(trainFile)), ...(trainOnDev ? (devDocs ?? []) : [])];
  const dev = trainOnDev ? undefined : devDocs;
  const test = await readJsonlDocuments(testFile);
  const t0 = performance.now();
  const options = {
    c2,
    maxIterations: maxIter,
    dev,
    evalEvery: 10,
    threads,
    clusterSources,
    lexicons,
    log: (l: string) => {
      if (/^(crf:|final|keeping|O bias|lexicons)/.test(l) || / dev F1 /.test(l))
        console.error(`${set}: ${l}`);
    },
  };
  // the recipe of `train-slm`: a set without a dev split holds a tenth of train out to stop on
  const tagger = await trainCrfRecipe(train, {
    ...options,
    lexicons: chooseLexicons && !dev ? [] : lexicons,
    chooseLexicons: chooseLexicons && dev !== undefined,
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const preds = tagger.predictAll(test);
  const tagSeconds = (performance.now() - t1) / 1000;
  const { strictMicro } = await import('../src/slm/data.js');
  const sc = strictMicro(test, preds);
  const row: Row = {
    set: trainOnDev ? `${set} (trained on train + dev)` : set,
    train: train.length,
    test: test.length,
    scheme: tagger.scheme,
    features: tagger.numFeatures,
    iterations: Number(tagger.training.keptIteration ?? tagger.training.iterations),
    oBias: Number(tagger.training.oBias ?? 0),
    ...(tagger.training.heldOutDev ? { heldOutDev: tagger.training.heldOutDev } : {}),
    p: sc.p,
    r: sc.r,
    f1: sc.f1,
    trainSeconds,
    sentencesPerSecond: test.length / tagSeconds,
  };
  rows.push(row);
  console.error(
    `${set}: test P ${sc.p.toFixed(4)} R ${sc.r.toFixed(4)} F1 ${sc.f1.toFixed(4)}, train ${trainSeconds.toFixed(1)} s`,
  );
}

const fmt = (x: number) => (100 * x).toFixed(2);
console.log(
  '| set | train sents | test sents | scheme | features | iter | O bias | P | R | F1 | train s | tag sents/s |',
);
console.log('|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.set} | ${r.train} | ${r.test} | ${r.scheme} | ${r.features} | ${r.iterations} | ${r.oBias} | ${fmt(r.p)} | ${fmt(r.r)} | ${fmt(r.f1)} | ${r.trainSeconds.toFixed(1)} | ${Math.round(r.sentencesPerSecond)} |`,
  );
}
if (jsonOut)
  await writeFile(jsonOut, JSON.stringify({ c2, maxIter, clusterSources, lexicons, rows }, null, 2));

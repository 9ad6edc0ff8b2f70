/**
 * el4ner's CRF side by side with CRFsuite (the npm `crfsuite` binding) on the same features:
 * both are trained on the same attribute strings of the training sentences (the default
 * recipe's features, extracted once by el4ner), with the same L2 coefficient and iteration
 * budget, all (attribute, label) pairs and label transitions as parameters, no early stopping.
 * Each tagger then tags the test set in a child process of its own, so that the peak RSS of the
 * process is the tagger's: tokens -> features -> Viterbi tags, `--rounds` times (best round kept);
 * the two children run alternately twice. Strict micro-F1 of both on test. A third child runs the
 * same loop with feature extraction only (no CRF), so the memory above it is the model's own.
 *
 *   node --import tsx bench/slm-crfsuite.ts [--set conll2003] [--max-iter 100] [--c2 0.05] [--rounds 3]
 *     [--lexicons en-names-places]
 *
 * `--lexicons` gives both CRFs the name and place list features (train-slm --lexicons).
 *
 * `crfsuite` is not a dependency (it compiles C++ with node-gyp): install it for this benchmark with
 *   npm install --no-save crfsuite
 * and, if npm did not run its install script (npm 11 asks for approval of install scripts), build it:
 *   (cd node_modules/crfsuite && npx node-pre-gyp rebuild --build-from-source --nodedir=/usr)
 * (`--nodedir` points at the directory whose include/node holds Node's headers, which node-gyp
 * otherwise downloads). Without it the benchmark says so and exits 0.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type DocumentContext, documentContexts } from '../src/core/context.js';
import { spansFromTags } from '../src/core/tags.js';
import type { Entity, NerDocument } from '../src/core/types.js';
import { type ClusterSpec, WordClusters } from '../src/slm/clusters.js';
import { documentTokens, readJsonlDocuments, strictMicro } from '../src/slm/data.js';
import { type FeatureConfig, Gazetteer, sentenceFeatures } from '../src/slm/features.js';
import { Lexicon, type LexiconSpec } from '../src/slm/lexicons.js';
import { CrfTagger, DEFAULT_TRAIN, prepareTraining, trainCrf } from '../src/slm/tagger.js';

const self = fileURLToPath(import.meta.url);
const repoRoot = resolve(self, '../..');
const dataDir = resolve(repoRoot, '../shared/data');
const require = createRequire(import.meta.url);

interface CrfsuiteModule {
  Trainer: new (opts?: {
    debug?: boolean;
  }) => {
    set_params(p: Record<string, string>): void;
    append(x: string[][], y: string[]): void;
    train(file: string): number;
  };
  Tagger: new () => { open(file: string): boolean; tag(x: string[][]): string[] };
}

function loadCrfsuite(): CrfsuiteModule | undefined {
  try {
    return require('crfsuite') as CrfsuiteModule;
  } catch {
    return undefined;
  }
}

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const set = opt('set', 'conll2003');
const rounds = Number(opt('rounds', '3'));
const lexiconNames = opt('lexicons', 'none') === 'none' ? [] : opt('lexicons', 'none').split(',');

interface ChildResult {
  tagger: string;
  loadSeconds: number;
  /** Best round: tokens -> features -> tags. */
  sentencesPerSecond: number;
  /** Best round with the features extracted beforehand: attribute strings -> tags. */
  taggingOnlyPerSecond: number;
  maxRssMB: number;
  f1: number;
  p: number;
  r: number;
}

function entitiesOf(doc: NerDocument, tags: string[]): Entity[] {
  const tokens = documentTokens(doc);
  return spansFromTags(tags).map((sp) => {
    const start = tokens[sp.start].start;
    const end = tokens[sp.end - 1].end;
    return { start, end, type: sp.type, text: doc.text.slice(start, end) };
  });
}

/**
 * This process's peak RSS. Not `process.resourceUsage().maxRSS`: Linux keeps ru_maxrss across
 * fork + exec, so a child would report its parent's peak (here: the parent that trained both CRFs).
 * VmHWM belongs to the address space, which exec replaces.
 */
function peakRssMB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error('no VmHWM in /proc/self/status (the benchmark reads Linux peak RSS)');
  return Number(m[1]) / 1024;
}

/** One child: loads one tagger, tags the test set `rounds` times, prints a JSON result. */
async function child(kind: string, dir: string): Promise<void> {
  const test = await readJsonlDocuments(resolve(dataDir, set, 'test.jsonl'));
  const tokens = test.map((d) => documentTokens(d).map((t) => t.text));
  const { featureConfig } = JSON.parse(readFileSync(join(dir, 'extractor.json'), 'utf8')) as {
    featureConfig: FeatureConfig;
  };
  const readsContext = featureConfig.documentWindows.length > 0;
  const t0 = performance.now();
  let extract: (toks: string[], context?: DocumentContext) => string[][];
  let tagAttrs: (attrs: string[][]) => string[];
  if (kind === 'el4ner') {
    const tagger = await CrfTagger.load(join(dir, 'model.crf'));
    extract = (toks, context) => tagger.attributes(toks, context);
    tagAttrs = (attrs) => tagger.tagAttributes(attrs);
  } else if (kind === 'crfsuite') {
    const crfsuite = loadCrfsuite() as CrfsuiteModule;
    const ex = JSON.parse(readFileSync(join(dir, 'extractor.json'), 'utf8')) as {
      featureConfig: FeatureConfig;
      gazetteer: [string, string[]][];
      clusters: ClusterSpec[];
      lexicons?: LexiconSpec[];
    };
    const gaz = Gazetteer.fromJSON(ex.gazetteer);
    const clusters = await Promise.all(ex.clusters.map((c) => WordClusters.fromSpec(c)));
    const lexicons = await Promise.all((ex.lexicons ?? []).map((l) => Lexicon.fromSpec(l)));
    extract = (toks, context) => sentenceFeatures(toks, ex.featureConfig, gaz, clusters, context, lexicons);
    const tagger = new crfsuite.Tagger();
    if (!tagger.open(join(dir, 'model.crfsuite'))) throw new Error('crfsuite could not open its model');
    tagAttrs = (attrs) => tagger.tag(attrs);
  } else if (kind === 'features-only') {
    // The same loop with no CRF: what feature extraction and the harness cost on their own.
    const ex = JSON.parse(readFileSync(join(dir, 'extractor.json'), 'utf8')) as {
      featureConfig: FeatureConfig;
      gazetteer: [string, string[]][];
      clusters: ClusterSpec[];
      lexicons?: LexiconSpec[];
    };
    const gaz = Gazetteer.fromJSON(ex.gazetteer);
    const clusters = await Promise.all(ex.clusters.map((c) => WordClusters.fromSpec(c)));
    const lexicons = await Promise.all((ex.lexicons ?? []).map((l) => Lexicon.fromSpec(l)));
    extract = (toks, context) => sentenceFeatures(toks, ex.featureConfig, gaz, clusters, context, lexicons);
    tagAttrs = (attrs) => attrs.map(() => 'O');
  } else throw new Error(`unknown tagger ${kind}`);
  const loadSeconds = (performance.now() - t0) / 1000;
  let best = Number.POSITIVE_INFINITY;
  let tags: string[][] = [];
  // Each round computes every sentence's document context from the test file's order too (as
  // `el4ner tag-slm` does), then tokens -> features -> tags.
  let contexts: DocumentContext[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    contexts = readsContext ? documentContexts(tokens) : [];
    tags = tokens.map((toks, i) => tagAttrs(extract(toks, contexts[i])));
    best = Math.min(best, performance.now() - t);
  }
  // Peak memory of tagging proper, before the pre-extracted attributes below exist.
  const maxRssMB = peakRssMB();
  const attrs = tokens.map((toks, i) => extract(toks, contexts[i]));
  let bestTag = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (const a of attrs) tagAttrs(a);
    bestTag = Math.min(bestTag, performance.now() - t);
  }
  const sc = strictMicro(
    test,
    test.map((d, i) => ({ ...d, entities: entitiesOf(d, tags[i]) })),
  );
  const out: ChildResult = {
    tagger: kind,
    loadSeconds,
    sentencesPerSecond: test.length / (best / 1000),
    taggingOnlyPerSecond: test.length / (bestTag / 1000),
    maxRssMB,
    f1: sc.f1,
    p: sc.p,
    r: sc.r,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

async function main(): Promise<void> {
  const crfsuite = loadCrfsuite();
  if (!crfsuite) {
    console.error(
      'skipped: the npm package `crfsuite` is not installed. Install it for this benchmark only with\n' +
        '  npm install --no-save crfsuite\n' +
        'and, if npm did not run its install script, build it with\n' +
        '  (cd node_modules/crfsuite && npx node-pre-gyp rebuild --build-from-source --nodedir=/usr)',
    );
    return;
  }
  const maxIter = Number(opt('max-iter', '100'));
  const c2 = Number(opt('c2', String(DEFAULT_TRAIN.c2)));
  const train = await readJsonlDocuments(resolve(dataDir, set, 'train.jsonl'));
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-crfsuite-'));
  try {
    // el4ner, no dev set: the last iteration is kept, as CRFsuite does.
    let t = performance.now();
    const ours = await trainCrf(train, { c2, maxIterations: maxIter, lexicons: lexiconNames });
    const oursTrain = (performance.now() - t) / 1000;
    await ours.save(join(dir, 'model.crf'));
    console.error(`el4ner: trained in ${oursTrain.toFixed(1)} s, ${ours.numFeatures} attributes`);

    t = performance.now();
    const prep = await prepareTraining(train, { c2, maxIterations: maxIter, lexicons: lexiconNames });
    writeFileSync(
      join(dir, 'extractor.json'),
      JSON.stringify({
        featureConfig: prep.featureConfig,
        gazetteer: prep.gazetteer.toJSON(),
        clusters: prep.clusters.map((c) => c.spec),
        lexicons: prep.lexicons.map((l) => l.spec),
      }),
    );
    const trainer = new crfsuite.Trainer({ debug: false });
    trainer.set_params({
      c1: '0',
      c2: String(c2),
      max_iterations: String(maxIter),
      num_memories: '6',
      period: '10',
      delta: '0.0001',
      epsilon: '0.00001',
      'feature.minfreq': '0',
      'feature.possible_states': '1',
      'feature.possible_transitions': '1',
    });
    for (const s of prep.sentences) trainer.append(s.attributes, s.tags);
    const ts = performance.now();
    trainer.train(join(dir, 'model.crfsuite'));
    const crfsuiteTrain = (performance.now() - ts) / 1000;
    console.error(
      `crfsuite: features extracted and appended in ${((ts - t) / 1000).toFixed(1)} s, trained in ${crfsuiteTrain.toFixed(1)} s`,
    );

    const run = (kind: string): ChildResult => {
      const outText = execFileSync(
        process.execPath,
        ['--import', 'tsx', self, '--child', kind, '--dir', dir, '--set', set, '--rounds', String(rounds)],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
      );
      return JSON.parse(outText.trim().split('\n').pop() as string) as ChildResult;
    };
    // Alternate the two children twice and keep each one's best throughput: the machine is shared.
    const best = (x: ChildResult, y: ChildResult): ChildResult => ({
      ...y,
      sentencesPerSecond: Math.max(x.sentencesPerSecond, y.sentencesPerSecond),
      taggingOnlyPerSecond: Math.max(x.taggingOnlyPerSecond, y.taggingOnlyPerSecond),
      maxRssMB: Math.max(x.maxRssMB, y.maxRssMB),
    });
    const a1 = run('el4ner');
    const b1 = run('crfsuite');
    const a = best(a1, run('el4ner'));
    const b = best(b1, run('crfsuite'));
    const base = run('features-only');
    const sizeMB = (f: string) => statSync(join(dir, f)).size / 1e6;
    const fmt = (x: number) => (100 * x).toFixed(2);
    console.log(
      `${set}: both trained on the same ${prep.sentences.length} sentences' attributes, c2 ${c2}, ${maxIter} L-BFGS iterations at most`,
    );
    console.log('');
    console.log(
      '| tagger | train s | model MB | test P | test R | test F1 | tag sents/s (tokens -> tags) | tag sents/s (attributes -> tags) | peak RSS MB | peak RSS above features-only MB |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const above = (x: ChildResult) => x.maxRssMB - base.maxRssMB;
    console.log(
      `| el4ner | ${oursTrain.toFixed(1)} | ${sizeMB('model.crf').toFixed(1)} | ${fmt(a.p)} | ${fmt(a.r)} | ${fmt(a.f1)} | ${Math.round(a.sentencesPerSecond)} | ${Math.round(a.taggingOnlyPerSecond)} | ${a.maxRssMB.toFixed(0)} | ${above(a).toFixed(0)} |`,
    );
    console.log(
      `| CRFsuite | ${crfsuiteTrain.toFixed(1)} | ${sizeMB('model.crfsuite').toFixed(1)} | ${fmt(b.p)} | ${fmt(b.r)} | ${fmt(b.f1)} | ${Math.round(b.sentencesPerSecond)} | ${Math.round(b.taggingOnlyPerSecond)} | ${b.maxRssMB.toFixed(0)} | ${above(b).toFixed(0)} |`,
    );
    console.log(
      `| el4ner / CRFsuite | | | | | ${(a.f1 - b.f1 >= 0 ? '+' : '') + fmt(a.f1 - b.f1)} | ${(a.sentencesPerSecond / b.sentencesPerSecond).toFixed(2)}x | ${(a.taggingOnlyPerSecond / b.taggingOnlyPerSecond).toFixed(2)}x | ${(a.maxRssMB / b.maxRssMB).toFixed(2)}x | ${(above(a) / above(b)).toFixed(2)}x |`,
    );
    console.log('');
    console.log(
      `features-only child (same loop, no CRF): peak RSS ${base.maxRssMB.toFixed(0)} MB, ${Math.round(base.sentencesPerSecond)} sentences/s`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const childIdx = args.indexOf('--child');
if (childIdx >= 0) await child(args[childIdx + 1], opt('dir', ''));
else await main();
if (!existsSync(dataDir)) console.error(`no shared data at ${dataDir}`);

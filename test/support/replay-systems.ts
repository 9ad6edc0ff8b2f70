/**
 * Real NER systems to replay behind a test server: CRFs trained with the project's own
 * `trainCrf` on different feature subsets, different training subsets and different c2, each
 * written once into a cache folder with its predictions and per-token marginals for the dev and
 * test splits of a data set. Fusion replays one as the inline-tagging LLM
 * (replay-server.ts); the ensemble work can replay several as backbones.
 *
 * Layout: <cacheDir>/<set>/<system>/{system.json, model.crf, dev.jsonl, test.jsonl}. A system is
 * reused when its system.json holds the same spec and the same recipe (the CRF's default
 * features, training defaults and model version) and every file is there; otherwise it is
 * trained again, so a changed default recipe retrains `crf-default` and the rest. Only the public `trainCrf` options are used, so the systems follow the CRF as it
 * changes (a feature key that no longer exists fails the type check, not silently).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { attachDocumentContext } from '../../src/core/context.js';
import { spansFromTags } from '../../src/core/tags.js';
import { alignTokens } from '../../src/core/tokenize.js';
import type { Entity, NerDocument } from '../../src/core/types.js';
import { documentTokens, readJsonlDocuments, strictMicro } from '../../src/slm/data.js';
import { DEFAULT_FEATURES } from '../../src/slm/features.js';
import { MODEL_VERSION } from '../../src/slm/model-file.js';
import { type CrfTagger, DEFAULT_TRAIN, type TrainOptions, trainCrf } from '../../src/slm/tagger.js';

/**
 * The replayed systems stand in for LLMs, which see one sentence at a time: they are trained and
 * tag without the CRF's document features (src/slm/context.ts), so they answer the same for the
 * same text. The recipe therefore leaves `documentWindows` out, and the systems cached before
 * those features existed, trained on exactly these features, stay valid. They read no lexicons
 * either (src/slm/lexicons.ts): the systems cached before the lexicons stay valid too.
 */
const { documentWindows: _documentWindows, ...SENTENCE_FEATURES } = DEFAULT_FEATURES;

/** What the systems' training depends on beyond their spec. */
const RECIPE = JSON.stringify({ features: SENTENCE_FEATURES, train: DEFAULT_TRAIN, model: MODEL_VERSION });

export const repoRoot = resolve(import.meta.dirname, '../..');
export const sharedData = resolve(repoRoot, '../shared/data');
export const defaultReplayCache = resolve(repoRoot, '.el4ner/replay');

export type ReplaySplit = 'dev' | 'test';
export const REPLAY_SPLITS: readonly ReplaySplit[] = ['dev', 'test'];

/** More training text from other data sets, with their types mapped to the target's (others dropped). */
export interface ExtraTraining {
  set: string;
  splits: string[];
  types: Record<string, string>;
}

export interface SystemSpec {
  name: string;
  description: string;
  /** Training sentences kept: every `every`-th one from `offset` (default: all of train). */
  subset?: { every: number; offset: number };
  /** Sentences of other corpora added to the (subset of the) training split. */
  extra?: ExtraTraining[];
  features?: TrainOptions['features'];
  c2?: number;
  maxIterations?: number;
  /** Choose the iteration on dev (the project's default recipe). */
  devStopping?: boolean;
}

/**
 * Four genuinely different taggers. `crf-default` is the project's default recipe (the SLM of
 * fusion); the others differ in features, training data and regularisation, so their errors
 * overlap only in part.
 */
export const REPLAY_SYSTEMS: readonly SystemSpec[] = [
  {
    name: 'crf-default',
    description: 'default features, all of train, c2 0.05, 150 iterations at most, iteration chosen on dev',
    devStopping: true,
    maxIterations: 150,
  },
  {
    name: 'crf-narrow',
    description: 'window 1, affixes up to 2, no gazetteer; all of train, c2 0.1, 80 iterations',
    features: { window: 1, affixes: 2, gazetteer: false },
    c2: 0.1,
    maxIterations: 80,
  },
  {
    name: 'crf-half-a',
    description: 'default features on the even half of train, c2 0.02, 80 iterations',
    subset: { every: 2, offset: 0 },
    c2: 0.02,
    maxIterations: 80,
  },
  {
    name: 'crf-wide-half-b',
    description:
      'window 3, affixes up to 3, no headline flag, on the odd half of train, c2 0.3, 80 iterations',
    subset: { every: 2, offset: 1 },
    features: { window: 3, affixes: 3, sentenceCaps: false },
    c2: 0.3,
    maxIterations: 80,
  },
];

const CROSSNER_TO_CONLL: Record<string, string> = {
  person: 'PER',
  politician: 'PER',
  scientist: 'PER',
  musicalartist: 'PER',
  writer: 'PER',
  researcher: 'PER',
  country: 'LOC',
  location: 'LOC',
  organisation: 'ORG',
  politicalparty: 'ORG',
  university: 'ORG',
  band: 'ORG',
  misc: 'MISC',
  event: 'MISC',
  election: 'MISC',
  award: 'MISC',
  album: 'MISC',
  song: 'MISC',
  book: 'MISC',
  poem: 'MISC',
  magazine: 'MISC',
  conference: 'MISC',
  product: 'MISC',
};

/**
 * The CRF as `el4ner train-slm` trains it by default (document features on; the same features,
 * data, c2 and dev stopping as `crf-default` otherwise): the SLM that fusion runs in production,
 * never replayed as an LLM.
 */
export const RECIPE_SYSTEM: SystemSpec = {
  name: 'crf-recipe',
  description:
    "train-slm's default recipe: default features with the document features, all of train, c2 0.05, 150 iterations at most, iteration chosen on dev",
  devStopping: true,
  maxIterations: 150,
  features: { documentWindows: [...DEFAULT_FEATURES.documentWindows] },
};

/**
 * A tagger trained on other corpora too, with their types mapped (so partly wrong, as an LLM's
 * idea of a type can be): it knows names the data set's own training split never shows.
 */
export const CROSS_CORPUS_SYSTEMS: Readonly<Record<string, SystemSpec>> = {
  conll2003: {
    name: 'crf-cross-corpus',
    description:
      'default features on the odd half of train plus WNUT-17 train and all of CrossNER (types mapped to PER/LOC/ORG/MISC), c2 0.1, 80 iterations',
    subset: { every: 2, offset: 1 },
    extra: [
      {
        set: 'wnut17',
        splits: ['train'],
        types: {
          person: 'PER',
          location: 'LOC',
          corporation: 'ORG',
          group: 'ORG',
          'creative-work': 'MISC',
          product: 'MISC',
        },
      },
      ...['politics', 'science', 'music', 'literature', 'ai'].map((d) => ({
        set: `crossner_${d}`,
        splits: ['train', 'dev', 'test'],
        types: CROSSNER_TO_CONLL,
      })),
    ],
    c2: 0.1,
    maxIterations: 80,
  },
  wnut17: {
    name: 'crf-cross-corpus',
    description:
      'default features on WNUT-17 train plus CoNLL-2003 train (PER, LOC, ORG mapped to person, location, group; MISC dropped), c2 0.1, 80 iterations',
    extra: [{ set: 'conll2003', splits: ['train'], types: { PER: 'person', LOC: 'location', ORG: 'group' } }],
    c2: 0.1,
    maxIterations: 80,
  },
};

/** The systems for a data set: the four of REPLAY_SYSTEMS and its cross-corpus tagger, when it has one. */
export function replaySystemsFor(set: string): SystemSpec[] {
  const cross = CROSS_CORPUS_SYSTEMS[set];
  return cross ? [...REPLAY_SYSTEMS, cross] : [...REPLAY_SYSTEMS];
}

/** Documents of another data set with their entity types mapped; unmapped entities are dropped. */
async function extraDocuments(x: ExtraTraining): Promise<NerDocument[]> {
  const out: NerDocument[] = [];
  for (const split of x.splits) {
    for (const d of await readSplit(x.set, split)) {
      const entities = d.entities.flatMap((e) => (x.types[e.type] ? [{ ...e, type: x.types[e.type] }] : []));
      // Without `tags` the trainer reads the (mapped) entities.
      out.push({ id: d.id, text: d.text, tokens: d.tokens, entities });
    }
  }
  return out;
}

/** One sentence as a system tagged it: Viterbi tags and the marginal over `labels` per token. */
export interface SystemPrediction {
  id: string;
  text: string;
  tokens: string[];
  tags: string[];
  marginals: number[][];
}

export interface SystemScore {
  p: number;
  r: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
}

export interface ReplaySystem {
  set: string;
  name: string;
  spec: SystemSpec;
  labels: string[];
  scheme: string;
  /** The trained CRF, loadable with `CrfTagger.load`. */
  modelFile: string;
  predictions: Record<ReplaySplit, SystemPrediction[]>;
  /** Strict micro scores of the system on each split, measured when it was written. */
  scores: Record<ReplaySplit, SystemScore>;
  training: Record<string, unknown>;
}

interface SystemFile {
  set: string;
  spec: SystemSpec;
  recipe?: string;
  labels: string[];
  scheme: string;
  scores: Record<ReplaySplit, SystemScore>;
  training: Record<string, unknown>;
  created: string;
}

export interface EnsureOptions {
  cacheDir?: string;
  /** Retrain even when the cache holds the system. */
  fresh?: boolean;
  log?: (line: string) => void;
  /** Documents per split, default: the data set's files under ../shared/data/<set>/. */
  data?: { train: readonly NerDocument[]; dev: readonly NerDocument[]; test: readonly NerDocument[] };
  /** Threads for the CRF gradient. Default 1. */
  threads?: number;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

async function readSplit(set: string, split: string): Promise<NerDocument[]> {
  return readJsonlDocuments(join(sharedData, set, `${split}.jsonl`));
}

/** A system with document features (crf-recipe) reads each sentence's neighbours in the split, as `el4ner eval` gives them. */
function withContext(tagger: CrfTagger, docs: readonly NerDocument[]): NerDocument[] {
  return tagger.readsContext ? attachDocumentContext(docs) : [...docs];
}

function predict(tagger: CrfTagger, docs: readonly NerDocument[]): SystemPrediction[] {
  return withContext(tagger, docs).map((d) => {
    const tokens = documentTokens(d).map((t) => t.text);
    const { tags, marginals } = tokens.length
      ? tagger.tagTokens(tokens, d.context)
      : { tags: [] as string[], marginals: [] as Float64Array[] };
    return { id: d.id, text: d.text, tokens, tags, marginals: marginals.map((m) => Array.from(m, round)) };
  });
}

/** The system's entities on its sentence, with character offsets (as `CrfTagger.predict` gives them). */
export function predictionEntities(p: SystemPrediction): Entity[] {
  const tokens = alignTokens(p.text, p.tokens, { allowGaps: true });
  return spansFromTags(p.tags).map((s) => {
    const start = tokens[s.start].start;
    const end = tokens[s.end - 1].end;
    return { start, end, type: s.type, text: p.text.slice(start, end) };
  });
}

function score(gold: readonly NerDocument[], tagger: CrfTagger): SystemScore {
  const s = strictMicro(gold, tagger.predictAll(withContext(tagger, gold)));
  return { p: s.p, r: s.r, f1: s.f1, tp: s.tp, fp: s.fp, fn: s.fn };
}

async function writeJsonl(file: string, rows: readonly unknown[]): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  await rename(tmp, file);
}

async function readJsonl<T>(file: string): Promise<T[]> {
  const raw = await readFile(file, 'utf8');
  return raw
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

function systemDir(cacheDir: string, set: string, name: string): string {
  return join(cacheDir, set, name);
}

async function loadCached(dir: string, spec: SystemSpec, set: string): Promise<ReplaySystem | undefined> {
  const meta = join(dir, 'system.json');
  const files = ['model.crf', ...REPLAY_SPLITS.map((s) => `${s}.jsonl`)];
  if (!existsSync(meta) || files.some((f) => !existsSync(join(dir, f)))) return undefined;
  const info = JSON.parse(await readFile(meta, 'utf8')) as SystemFile;
  if (info.set !== set || JSON.stringify(info.spec) !== JSON.stringify(spec) || info.recipe !== RECIPE)
    return undefined;
  const predictions = {} as Record<ReplaySplit, SystemPrediction[]>;
  for (const s of REPLAY_SPLITS) predictions[s] = await readJsonl<SystemPrediction>(join(dir, `${s}.jsonl`));
  return {
    set,
    name: spec.name,
    spec,
    labels: info.labels,
    scheme: info.scheme,
    modelFile: join(dir, 'model.crf'),
    predictions,
    scores: info.scores,
    training: info.training,
  };
}

/** Trains (or loads from the cache) each system on `set` and returns them in the order given. */
export async function ensureSystems(
  set: string,
  specs: readonly SystemSpec[] = REPLAY_SYSTEMS,
  options: EnsureOptions = {},
): Promise<ReplaySystem[]> {
  const cacheDir = options.cacheDir ?? defaultReplayCache;
  const log = options.log ?? (() => {});
  let data = options.data;
  const out: ReplaySystem[] = [];
  for (const spec of specs) {
    const dir = systemDir(cacheDir, set, spec.name);
    const cached = options.fresh ? undefined : await loadCached(dir, spec, set);
    if (cached) {
      log(`${set}/${spec.name}: from the cache (${dir}), test F1 ${cached.scores.test.f1.toFixed(4)}`);
      out.push(cached);
      continue;
    }
    data ??= {
      train: await readSplit(set, 'train'),
      dev: await readSplit(set, 'dev'),
      test: await readSplit(set, 'test'),
    };
    const sub = spec.subset;
    const train = sub ? data.train.filter((_, i) => i % sub.every === sub.offset) : [...data.train];
    for (const x of spec.extra ?? []) train.push(...(await extraDocuments(x)));
    log(`${set}/${spec.name}: training on ${train.length} sentences (${spec.description})`);
    const t0 = performance.now();
    let lastLog = t0;
    const tagger = await trainCrf(train, {
      features: { documentWindows: [], ...spec.features },
      lexicons: [],
      c2: spec.c2,
      maxIterations: spec.maxIterations,
      dev: spec.devStopping ? data.dev : undefined,
      evalEvery: 10,
      threads: options.threads ?? 1,
      log: (line) => {
        const now = performance.now();
        if (/^(crf:|final|keeping)/.test(line) || / dev F1 /.test(line) || now - lastLog > 15_000) {
          lastLog = now;
          log(`${set}/${spec.name}: ${line}`);
        }
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    await mkdir(dir, { recursive: true });
    await tagger.save(join(dir, 'model.crf'));
    const predictions = {} as Record<ReplaySplit, SystemPrediction[]>;
    const scores = {} as Record<ReplaySplit, SystemScore>;
    for (const s of REPLAY_SPLITS) {
      predictions[s] = predict(tagger, data[s]);
      scores[s] = score(data[s], tagger);
      await writeJsonl(join(dir, `${s}.jsonl`), predictions[s]);
    }
    const training = { ...tagger.training, seconds: Math.round(seconds * 10) / 10 };
    const info: SystemFile = {
      set,
      spec,
      recipe: RECIPE,
      labels: tagger.labels,
      scheme: tagger.scheme,
      scores,
      training,
      created: new Date().toISOString(),
    };
    // system.json last: a folder without it is an interrupted run and is trained again.
    await writeFile(join(dir, 'system.json'), `${JSON.stringify(info, null, 2)}\n`);
    log(
      `${set}/${spec.name}: trained in ${seconds.toFixed(1)} s; dev F1 ${scores.dev.f1.toFixed(4)}, test F1 ${scores.test.f1.toFixed(4)}`,
    );
    out.push({
      set,
      name: spec.name,
      spec,
      labels: tagger.labels,
      scheme: tagger.scheme,
      modelFile: join(dir, 'model.crf'),
      predictions,
      scores,
      training,
    });
  }
  return out;
}

/**
 * The supervised small tagger: a linear-chain CRF over NER features, trained with L-BFGS,
 * giving Viterbi tags and per-token marginals (used by the LLM fusion).
 */
import { performance } from 'node:perf_hooks';
import { attachDocumentContext, type DocumentContext, documentContexts } from '../core/context.js';
import { InputError } from '../core/errors.js';
import { lineRanges } from '../core/lines.js';
import { seededOrder } from '../core/random.js';
import { detectScheme, spansFromTags } from '../core/tags.js';
import { eventLoopTurns, type Turns } from '../core/turns.js';
import type { NerDocument, Token } from '../core/types.js';
import { clustersFromText, loadResource, resourceExists, WordClusters } from './clusters.js';
import { checkDocumentWindows } from './context.js';
import {
  type CrfShape,
  CrfWorkspace,
  computeScores,
  type EncodedSentence,
  forwardBackward,
  paramCount,
  segmentProbability,
  tokenMarginal,
  viterbi,
} from './crf.js';
import { documentTokens, goldTags, type StrictScore, strictMicro } from './data.js';
import { DEFAULT_TRAIN } from './defaults.js';
import { encodeWith, FeatureDictionaryBuilder } from './encode.js';
import { entitiesFromTagging } from './entities.js';
import { FeatureIndex } from './feature-index.js';
import { DEFAULT_FEATURES, type FeatureConfig, Gazetteer, sentenceFeatures } from './features.js';
import { lbfgs } from './lbfgs.js';
import { DEFAULT_LEXICONS, Lexicon, loadLexicon } from './lexicons.js';
import { ModelFileError, readModel, writeModel } from './model-file.js';
import { type GradientEngine, LocalGradient, ParallelGradient } from './objective.js';
import { entityPath, entityTypes } from './span-probabilities.js';

export type CrfScheme = 'BIO' | 'BIOES' | 'BMES';

export interface TokenMarginals {
  labels: string[];
  /** Per token: probability over labels (same order as `labels`). */
  probs: Float64Array[];
}

export { DEFAULT_TRAIN } from './defaults.js';

export const SLM_MODEL_NAME = 'crf';

export class CrfTagger {
  readonly labels: string[];
  readonly scheme: CrfScheme;
  readonly featureConfig: FeatureConfig;
  /** Attribute name (hashed) -> feature id. */
  readonly index: FeatureIndex;
  readonly weights: Float32Array;
  readonly gazetteer: Gazetteer;
  readonly clusters: WordClusters[];
  readonly lexicons: Lexicon[];
  readonly training: Record<string, unknown>;
  private readonly shape: CrfShape;
  private readonly ws: CrfWorkspace;

  constructor(init: {
    labels: string[];
    scheme: CrfScheme;
    featureConfig: FeatureConfig;
    index: FeatureIndex;
    weights: Float32Array;
    gazetteer: Gazetteer;
    clusters?: WordClusters[];
    lexicons?: Lexicon[];
    training?: Record<string, unknown>;
  }) {
    this.labels = init.labels;
    this.scheme = init.scheme;
    this.featureConfig = init.featureConfig;
    this.index = init.index;
    this.weights = init.weights;
    this.gazetteer = init.gazetteer;
    this.clusters = init.clusters ?? [];
    this.lexicons = init.lexicons ?? [];
    this.training = init.training ?? {};
    this.shape = { numLabels: init.labels.length, numFeatures: init.index.size };
    if (init.weights.length !== paramCount(this.shape)) {
      throw new Error(`CRF weights have length ${init.weights.length}, expected ${paramCount(this.shape)}`);
    }
    this.ws = new CrfWorkspace(this.shape.numLabels);
    this.ws.prepareTransitions(this.weights, this.shape);
  }

  get numFeatures(): number {
    return this.shape.numFeatures;
  }

  /** Whether the features read a document's context (src/core/context.ts). */
  get readsContext(): boolean {
    return this.featureConfig.documentWindows.length > 0;
  }

  static async load(path: string): Promise<CrfTagger> {
    const { header, hashHi, hashLo, weights } = await readModel(path);
    let clusters: WordClusters[];
    let lexicons: Lexicon[];
    try {
      clusters = await Promise.all((header.clusters ?? []).map((c) => WordClusters.fromSpec(c)));
      // A model written before the lexicons has none.
      lexicons = await Promise.all((header.lexicons ?? []).map((l) => Lexicon.fromSpec(l)));
    } catch (err) {
      throw new ModelFileError(`${path}: ${(err as Error).message}`);
    }
    return new CrfTagger({
      labels: header.labels,
      scheme: header.scheme,
      // A model written before the document features (or the Chinese word features) has none.
      featureConfig: {
        ...DEFAULT_FEATURES,
        documentWindows: [],
        cjkWords: false,
        ...(header.featureConfig as Partial<FeatureConfig>),
      },
      index: FeatureIndex.fromHashes(hashHi, hashLo),
      weights,
      gazetteer: Gazetteer.fromJSON(header.gazetteer),
      clusters,
      lexicons,
      training: header.training,
    });
  }

  async save(path: string): Promise<void> {
    await writeModel(path, {
      header: {
        labels: this.labels,
        scheme: this.scheme,
        featureConfig: this.featureConfig,
        gazetteer: this.gazetteer.toJSON(),
        clusters: this.clusters.map((c) => c.spec),
        lexicons: this.lexicons.map((l) => l.spec),
        training: this.training,
      },
      hashHi: this.index.hi,
      hashLo: this.index.lo,
      weights: this.weights,
    });
  }

  /**
   * The attribute strings of each token (what the CRF's feature ids are looked up from).
   * `context`: what the neighbouring documents show (src/core/context.ts); without it a model
   * with document features tags the sentence as if it stood alone.
   */
  attributes(tokens: readonly string[], context?: DocumentContext): string[][] {
    return sentenceFeatures(
      tokens,
      this.featureConfig,
      this.gazetteer,
      this.clusters,
      context,
      this.lexicons,
    );
  }

  encode(tokens: readonly string[], context?: DocumentContext): EncodedSentence {
    return encodeWith(this.index, this.attributes(tokens, context));
  }

  /** Viterbi tags only (no marginals): the fastest way to tag. */
  tag(tokens: readonly string[], context?: DocumentContext): string[] {
    return this.tagAttributes(this.attributes(tokens, context));
  }

  /** Viterbi tags of a sentence given as the attribute strings of each token. */
  tagAttributes(attributes: string[][]): string[] {
    return Array.from(this.decodeIds(encodeWith(this.index, attributes)), (i) => this.labels[i]);
  }

  /** Viterbi label ids of an encoded sentence. */
  decodeIds(s: EncodedSentence): Int32Array {
    const out = new Int32Array(s.n);
    if (s.n === 0) return out;
    computeScores(this.weights, this.shape, s, this.ws);
    viterbi(this.weights, this.shape, s.n, this.ws, out);
    return out;
  }

  /** Viterbi tags and per-token marginals (probabilities over `labels`). */
  tagTokens(
    tokens: readonly string[],
    context?: DocumentContext,
  ): { tags: string[]; marginals: Float64Array[] } {
    const s = this.encode(tokens, context);
    if (s.n === 0) return { tags: [], marginals: [] };
    const ids = this.decodeIds(s);
    // decodeIds left the state scores in the workspace.
    forwardBackward(s.n, this.ws);
    const marginals: Float64Array[] = [];
    for (let t = 0; t < s.n; t++) {
      const m = new Float64Array(this.labels.length);
      tokenMarginal(t, this.ws, m);
      marginals.push(m);
    }
    return { tags: Array.from(ids, (i) => this.labels[i]), marginals };
  }

  /**
   * For each token span (`end` exclusive), the probability that the CRF tags exactly that span as
   * one entity of each type (src/slm/span-probabilities.ts). Exact, from the forward-backward pass
   * (not a product of token marginals).
   */
  spanProbabilities(
    tokens: readonly string[],
    spans: readonly { start: number; end: number }[],
    context?: DocumentContext,
  ): Array<Record<string, number>> {
    const s = this.encode(tokens, context);
    if (s.n === 0) return spans.map(() => ({}));
    computeScores(this.weights, this.shape, s, this.ws);
    forwardBackward(s.n, this.ws);
    const labelId = new Map(this.labels.map((l, i) => [l, i]));
    const types = entityTypes(this.labels);
    return spans.map(({ start, end }) => {
      const out: Record<string, number> = {};
      for (const type of types) {
        const spelled = entityPath(type, end - start, this.scheme, labelId);
        if (spelled) out[type] = segmentProbability(this.ws, s.n, start, spelled.path, spelled.continues);
      }
      return out;
    });
  }

  tokenMarginals(tokens: readonly string[], context?: DocumentContext): TokenMarginals {
    return { labels: this.labels, probs: this.tagTokens(tokens, context).marginals };
  }

  /**
   * Entities with character offsets. Tokens come from doc.tokens, else from tokenize(text).
   * An entity's score is the mean marginal probability of its Viterbi tags.
   */
  predict(doc: { id: string; text: string; tokens?: Token[]; context?: DocumentContext }): NerDocument {
    const tokens = documentTokens(doc);
    const entities = lineRanges(doc.text, tokens).flatMap(({ start, end }) => {
      const line = tokens.slice(start, end);
      const tagging = this.tagTokens(
        line.map((t) => t.text),
        doc.context,
      );
      return entitiesFromTagging(doc.text, line, tagging, this.labels, SLM_MODEL_NAME);
    });
    return { id: doc.id, text: doc.text, tokens, entities };
  }

  /** `predict` over a list of documents; one without a context gets it from the list's order. */
  predictAll(
    docs: readonly { id: string; text: string; tokens?: Token[]; context?: DocumentContext }[],
  ): NerDocument[] {
    return attachDocumentContext(docs).map((d) => this.predict(d));
  }

  evaluate(docs: readonly NerDocument[]): StrictScore {
    return strictMicro(docs, this.predictAll(docs));
  }

  /** `evaluate`, giving the event loop its turns between documents (an interruptible command). */
  async evaluateInTurns(docs: readonly NerDocument[], turn: Turns = eventLoopTurns()): Promise<StrictScore> {
    const pred: NerDocument[] = [];
    for (const d of attachDocumentContext(docs)) {
      pred.push(this.predict(d));
      await turn();
    }
    return strictMicro(docs, pred);
  }
}

export interface TrainOptions {
  /** Tag scheme to train in. Default: the scheme of the data's tags (IOB1 is read as BIO). */
  scheme?: CrfScheme;
  /** L2 coefficient: the objective is NLL + c2 * ||w||^2. Default 0.05. */
  c2?: number;
  maxIterations?: number;
  /**
   * With dev: stop when dev F1 has not improved for this many iterations (the best is kept
   * anyway). Default DEFAULT_TRAIN.patience.
   */
  patience?: number;
  /** Attributes seen fewer times in training are dropped. Default 1 (keep all). */
  minCount?: number;
  features?: Partial<FeatureConfig>;
  /** Scored every `evalEvery` iterations; the best weights are kept. */
  dev?: readonly NerDocument[];
  evalEvery?: number;
  /** L-BFGS history size. Default 6. */
  memory?: number;
  /** Relative objective improvement over 10 iterations below which training stops. Default 1e-4. */
  delta?: number;
  log?: (line: string) => void;
  /** After each iteration: where training is (for a report of where an interrupted run stopped). */
  onIteration?: (at: TrainProgress) => void;
  /** At the start of each step of training (for a report of where an interrupted run stopped). */
  onStep?: (step: TrainStep) => void;
  /**
   * At the start of each training of a recipe that trains twice (`trainCrfChoosingLexicons`,
   * `trainCrfHoldingOutDev`): which one starts; its steps and iterations follow.
   */
  onTraining?: (training: Training) => void;
  /** Threads computing the gradient (the caller's plus worker threads). Default 1. */
  threads?: number;
  /** With dev: keep the best-scoring iteration (default) or the last one. */
  keepBest?: boolean;
  /**
   * The gazetteer training sentences see: 'jackknife' (default) one built from the other half of
   * the data, 'full' every training entity (then each training entity matches itself).
   */
  gazetteerTraining?: 'jackknife' | 'full';
  /**
   * Word-cluster sets the features read: 'glove' (shipped with el4ner, from GloVe 100d vectors)
   * and 'text' (learned from the training sentences plus `unlabeled`). Default both.
   */
  clusterSources?: readonly ('glove' | 'text')[];
  /** Lexicons the features read (resources/lexicons/<name>.tsv.gz). Default DEFAULT_LEXICONS. */
  lexicons?: readonly string[];
  /** With dev: shift label O's bias to the dev-best point of the precision/recall trade-off. Default true. */
  tuneOBias?: boolean;
  /**
   * A fixed O bias (the delta `tuneOBias` would choose) applied after training, with or without
   * dev: for retraining on train + dev with the iteration count and bias a train-only run chose.
   */
  oBias?: number;
  /** Unlabeled tokenised sentences added to the training text for the 'text' clusters. */
  unlabeled?: Iterable<readonly string[]>;
}

/**
 * The steps of one training: loading the shipped GloVe clusters, building the word clusters from
 * the text, loading the lexicons, extracting the features, building the feature index, the L-BFGS
 * iterations (dev scored among them), scoring the last iteration on dev, choosing the O bias on
 * dev. Each gives the event loop its turns (src/core/turns.ts), so Ctrl-C stops any of them.
 */
export type TrainStep =
  | 'glove-clusters'
  | 'text-clusters'
  | 'lexicons'
  | 'features'
  | 'feature-index'
  | 'iterations'
  | 'dev'
  | 'o-bias';

/**
 * The trainings of a recipe that trains twice: without then with the lexicons (`--lexicons
 * auto`), or on the sentences not held out then on all of them (a held-out dev share).
 */
export type Training = 'without-lexicons' | 'with-lexicons' | 'held-out' | 'all-sentences';

export interface TrainProgress {
  iteration: number;
  maxIterations: number;
  /** The best dev F1 scored so far (none without a dev set, or before its first scoring). */
  bestDevF1?: number;
}

function inferScheme(docs: readonly NerDocument[]): CrfScheme {
  const scheme = detectScheme(docs.flatMap((d) => d.tags ?? []));
  return scheme === 'IOB1' ? 'BIO' : scheme;
}

/** What training extracts before optimising: labels, gazetteers, clusters and each sentence's attributes. */
export interface PreparedTraining {
  scheme: CrfScheme;
  featureConfig: FeatureConfig;
  labels: string[];
  /** The gazetteer of every training entity (the one a trained tagger uses). */
  gazetteer: Gazetteer;
  clusters: WordClusters[];
  lexicons: Lexicon[];
  sentences: { tokens: string[]; tags: string[]; attributes: string[][] }[];
}

/** Extracts the training sentences' attributes exactly as `trainCrf` trains on them. */
export async function prepareTraining(
  train: readonly NerDocument[],
  opts: TrainOptions = {},
  turn: Turns = eventLoopTurns(),
): Promise<PreparedTraining> {
  const log = opts.log ?? (() => {});
  const scheme = opts.scheme ?? inferScheme(train);
  const cfg: FeatureConfig = { ...DEFAULT_FEATURES, ...opts.features };
  checkDocumentWindows(cfg.documentWindows);
  const trainTokens = train.map((doc) => documentTokens(doc));
  // Each training sentence's context comes from the training file's order, as at tagging time.
  const trainContexts = cfg.documentWindows.length
    ? documentContexts(trainTokens.map((ts) => ts.map((t) => t.text)))
    : undefined;
  const sentences: { tokens: string[]; tags: string[]; context?: DocumentContext }[] = [];
  train.forEach((doc, i) => {
    const toks = trainTokens[i];
    if (toks.length === 0) return;
    sentences.push({
      tokens: toks.map((t) => t.text),
      tags: goldTags(doc, toks, scheme),
      ...(trainContexts ? { context: trainContexts[i] } : {}),
    });
  });
  if (sentences.length === 0) throw new InputError('no training sentences with tokens');
  const labelSet = new Set<string>();
  for (const s of sentences) for (const t of s.tags) if (t !== 'O') labelSet.add(t);
  const labels = ['O', ...[...labelSet].sort()];

  // Gazetteer: the full one is stored for tagging; training sentences see one built from the
  // other half of the data, so the CRF does not learn to trust a gazetteer that always matches.
  const full = new Gazetteer();
  const halves = [new Gazetteer(), new Gazetteer()];
  sentences.forEach((s, i) => {
    for (const sp of spansFromTags(s.tags)) {
      const toks = s.tokens.slice(sp.start, sp.end);
      full.add(toks, sp.type);
      halves[i % 2].add(toks, sp.type);
    }
  });

  const clusters: WordClusters[] = [];
  const sources = opts.clusterSources ?? DEFAULT_TRAIN.clusterSources;
  if (sources.includes('glove')) {
    if (!resourceExists('glove-100d')) throw new Error('the shipped GloVe word clusters are missing');
    opts.onStep?.('glove-clusters');
    clusters.push((await loadResource('glove-100d')).clusters);
  }
  if (sources.includes('text')) {
    const text = function* () {
      for (const s of sentences) yield s.tokens;
      if (opts.unlabeled) yield* opts.unlabeled;
    };
    const from = `the training text${opts.unlabeled ? ' and the unlabeled text' : ''}`;
    // minutes with a big --unlabeled file
    log(`crf: building the word clusters from ${from}`);
    opts.onStep?.('text-clusters');
    const tc = await clustersFromText(text(), 'text', {}, turn);
    log(`crf: ${tc.size} words clustered from ${from}`);
    clusters.push(tc);
  }
  opts.onStep?.('lexicons');
  const lexicons: Lexicon[] = [];
  for (const name of opts.lexicons ?? DEFAULT_LEXICONS) lexicons.push(await loadLexicon(name));
  // the longest silent step before the first iteration (some 20 s on CoNLL-2003 train)
  log(`crf: extracting the features of ${sentences.length} sentences`);
  opts.onStep?.('features');
  const withAttributes: PreparedTraining['sentences'] = [];
  for (const [i, { context, ...s }] of sentences.entries()) {
    withAttributes.push({
      ...s,
      attributes: sentenceFeatures(
        s.tokens,
        cfg,
        opts.gazetteerTraining === 'full' ? full : halves[(i + 1) % 2],
        clusters,
        context,
        lexicons,
      ),
    });
    await turn();
  }
  return {
    scheme,
    featureConfig: cfg,
    labels,
    gazetteer: full,
    clusters,
    lexicons,
    sentences: withAttributes,
  };
}

/**
 * The CRF trades recall for precision (an unsure token is O). Subtracting delta from label O's
 * score at every token moves that trade-off; it is the weight of the always-on attribute `b`
 * for O, so tagging is unchanged. delta is chosen on dev from a small grid (0 unless dev F1 rises).
 */
async function tuneOBias(
  weights: Float64Array,
  biasFeature: number,
  shape: CrfShape,
  devScore: (w: Float64Array) => Promise<StrictScore>,
  training: Record<string, unknown>,
  log: (line: string) => void,
): Promise<Float64Array> {
  if (biasFeature < 0) return weights;
  const at = biasFeature * shape.numLabels; // label 0 is O
  let best = { delta: 0, f1: Number(training.devF1) };
  log(`O bias: scoring dev with ${O_BIAS_GRID.length} values`);
  for (const delta of O_BIAS_GRID) {
    const w = Float64Array.from(weights);
    w[at] -= delta;
    const f1 = (await devScore(w)).f1;
    if (f1 > best.f1 + 1e-9) best = { delta, f1 };
  }
  training.oBias = best.delta;
  if (best.delta === 0) {
    log('O bias 0: no other value scores better on dev');
    return weights;
  }
  log(`O bias ${best.delta}: dev F1 ${best.f1.toFixed(4)}`);
  training.devF1 = best.f1;
  const out = Float64Array.from(weights);
  out[at] -= best.delta;
  return out;
}

const O_BIAS_GRID = [-1, -0.5, 0.5, 1, 1.5, 2, 3];

export async function trainCrf(train: readonly NerDocument[], opts: TrainOptions = {}): Promise<CrfTagger> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const c2 = opts.c2 ?? DEFAULT_TRAIN.c2;
  const turn = eventLoopTurns();
  const prep = await prepareTraining(train, opts, turn);
  const { scheme, labels, clusters, lexicons, sentences, featureConfig: cfg, gazetteer: full } = prep;
  const labelId = new Map(labels.map((l, i) => [l, i]));

  opts.onStep?.('feature-index');
  const dict = new FeatureDictionaryBuilder();
  const encoded: EncodedSentence[] = [];
  for (const s of sentences) {
    encoded.push(
      dict.encode(
        s.attributes,
        Int32Array.from(s.tags, (t) => labelId.get(t) as number),
      ),
    );
    await turn();
  }
  // The attribute strings are not needed any more.
  for (const s of sentences) s.attributes = [];
  const features = await dict.finish(encoded, opts.minCount ?? 1, turn);
  const index = await FeatureIndex.build(features, turn);
  const shape: CrfShape = { numLabels: labels.length, numFeatures: features.length };
  const n = paramCount(shape);
  const tokensTotal = encoded.reduce((a, s) => a + s.n, 0);
  log(
    `crf: ${sentences.length} sentences, ${tokensTotal} tokens, ${labels.length} labels (${scheme}), ` +
      `${features.length} features, ${n} weights, gazetteer ${full.size} entries ` +
      `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );

  const threads = Math.max(1, Math.floor(opts.threads ?? 1));
  const training: Record<string, unknown> = {
    sentences: sentences.length,
    tokens: tokensTotal,
    c2,
    minCount: opts.minCount ?? 1,
    threads,
  };
  const makeTagger = (w: Float64Array) =>
    new CrfTagger({
      labels,
      scheme,
      featureConfig: cfg,
      index,
      weights: Float32Array.from(w),
      gazetteer: full,
      clusters,
      lexicons,
      training,
    });

  const engine: GradientEngine =
    threads > 1
      ? ParallelGradient.create(shape, encoded, c2, threads)
      : new LocalGradient(shape, encoded, c2);
  const dev = opts.dev;
  const evalEvery = opts.evalEvery ?? DEFAULT_TRAIN.evalEvery;
  const patience = opts.patience ?? DEFAULT_TRAIN.patience;
  let best: { f1: number; iteration: number; w: Float64Array } | undefined;
  const devScore = (w: Float64Array) => makeTagger(w).evaluateInTurns(dev ?? [], turn);
  let last = performance.now();
  try {
    const maxIterations = opts.maxIterations ?? DEFAULT_TRAIN.maxIterations;
    opts.onStep?.('iterations');
    const result = await lbfgs((w, g) => engine.evaluate(w, g), new Float64Array(n), {
      maxIterations,
      memory: opts.memory ?? 6,
      delta: opts.delta ?? 1e-4,
      epsilon: 1e-5,
      onIteration: async (it) => {
        const now = performance.now();
        let line = `iter ${it.iteration} loss ${it.value.toFixed(2)} |g| ${it.gradNorm.toExponential(2)} step ${it.step.toPrecision(3)} evals ${it.evaluations} ${((now - last) / 1000).toFixed(2)} s`;
        last = now;
        let patienceOut = false;
        if (dev && dev.length > 0 && it.iteration % evalEvery === 0) {
          const sc = await devScore(Float64Array.from(it.x));
          line += ` dev F1 ${sc.f1.toFixed(4)}`;
          if (!best || sc.f1 > best.f1)
            best = { f1: sc.f1, iteration: it.iteration, w: Float64Array.from(it.x) };
          last = performance.now();
          patienceOut = it.iteration - best.iteration >= patience;
        }
        opts.onIteration?.({ iteration: it.iteration, maxIterations, bestDevF1: best?.f1 });
        if (patienceOut) {
          log(`${line}; no dev gain in ${patience} iterations: stopping`);
          return false;
        }
        log(line);
        return undefined;
      },
    });
    let weights = result.x;
    training.iterations = result.iterations;
    training.stop = result.reason;
    if (dev && dev.length > 0) {
      opts.onStep?.('dev');
      const finalScore = await devScore(result.x);
      log(`final iter ${result.iterations} (${result.reason}) dev F1 ${finalScore.f1.toFixed(4)}`);
      if (best && best.f1 > finalScore.f1 && opts.keepBest !== false) {
        log(`keeping iteration ${best.iteration} (dev F1 ${best.f1.toFixed(4)})`);
        weights = best.w;
        training.keptIteration = best.iteration;
        training.devF1 = best.f1;
      } else training.devF1 = finalScore.f1;
      if (opts.tuneOBias !== false && opts.oBias === undefined) {
        opts.onStep?.('o-bias');
        weights = await tuneOBias(weights, features.indexOf('b'), shape, devScore, training, log);
      }
    }
    if (opts.oBias !== undefined && opts.oBias !== 0) {
      const b = features.indexOf('b');
      if (b >= 0) weights[b * shape.numLabels] -= opts.oBias; // label 0 is O
      training.oBias = opts.oBias;
    }
    training.seconds = Math.round((performance.now() - t0) / 100) / 10;
    return makeTagger(weights);
  } finally {
    await engine.close();
  }
}

/**
 * `train-slm --lexicons auto`: trains with and without the lexicons and keeps the model with the
 * higher dev F1 (after its O bias), because the lists gain on some domains and lose on others
 * (docs/slm.md). Twice the training time; the choice is recorded in `training.lexiconChoice`.
 */
export async function trainCrfChoosingLexicons(
  train: readonly NerDocument[],
  opts: TrainOptions & { dev: readonly NerDocument[] },
  lexicons: readonly string[],
): Promise<CrfTagger> {
  const log = opts.log ?? (() => {});
  opts.onTraining?.('without-lexicons');
  const without = await trainCrf(train, { ...opts, lexicons: [] });
  opts.onTraining?.('with-lexicons');
  const withLists = await trainCrf(train, { ...opts, lexicons });
  const f1Without = Number(without.training.devF1);
  const f1With = Number(withLists.training.devF1);
  const kept = f1With > f1Without ? withLists : without;
  kept.training.lexiconChoice = {
    devF1With: f1With,
    devF1Without: f1Without,
    kept: kept.lexicons.length > 0,
  };
  log(
    `lexicons ${lexicons.join(',')}: dev F1 ${f1With.toFixed(4)} with them, ${f1Without.toFixed(4)} without; ` +
      `${kept === withLists ? 'kept' : 'left out'}`,
  );
  return kept;
}

/** Share of the training sentences held out to stop on when no dev set is given (train-slm --dev-share). */
export const DEFAULT_DEV_SHARE = 0.1;

/** Fewer training sentences than this: nothing is held out (too few to stop on). */
const MIN_SENTENCES_TO_HOLD_OUT = 50;

/**
 * Without a dev set: holds out `share` of the training sentences (seeded) as a dev set that picks
 * the iteration and the O bias, then trains on all of the sentences for that many iterations
 * with that bias. Without it the CRF runs its whole iteration budget and keeps the last one,
 * which on the MIT movie sets is past the best (docs/slm.md). About 1.4 times the training time;
 * the held-out run's choice is recorded in `training.heldOutDev`.
 */
export async function trainCrfHoldingOutDev(
  train: readonly NerDocument[],
  opts: TrainOptions = {},
  share = DEFAULT_DEV_SHARE,
  seed = 13,
): Promise<CrfTagger> {
  const log = opts.log ?? (() => {});
  const nHeld = Math.round(train.length * share);
  if (share <= 0 || train.length < MIN_SENTENCES_TO_HOLD_OUT || nHeld < 1) return trainCrf(train, opts);
  const held = new Set(seededOrder(train.length, seed).slice(0, nHeld));
  // the held-out sentences keep their neighbours in the training file as document context
  const withContext = attachDocumentContext(train);
  const part = train.filter((_, i) => !held.has(i));
  const dev = withContext.filter((_, i) => held.has(i));
  log(`crf: no dev set given: ${dev.length} of the ${train.length} training sentences held out to stop on`);
  opts.onTraining?.('held-out');
  const first = await trainCrf(part, { ...opts, dev });
  const t = first.training;
  const iterations = Number(t.keptIteration ?? t.iterations);
  const oBias = Number(t.oBias ?? 0);
  log(`crf: retraining on all ${train.length} sentences for ${iterations} iterations, O bias ${oBias}`);
  opts.onTraining?.('all-sentences');
  const tagger = await trainCrf(train, { ...opts, dev: undefined, maxIterations: iterations, oBias });
  tagger.training.heldOutDev = { share, seed, sentences: dev.length, iterations, oBias, devF1: t.devF1 };
  return tagger;
}

/**
 * The training recipe `train-slm` and the benchmark run: with a dev set, `trainCrf` on it (or,
 * with `chooseLexicons`, trained with and without the lists and the better kept); without one,
 * a share of the training sentences held out to stop on (`devShare`, 0: the whole budget).
 */
export async function trainCrfRecipe(
  train: readonly NerDocument[],
  opts: TrainOptions & { chooseLexicons?: boolean; devShare?: number },
): Promise<CrfTagger> {
  const { chooseLexicons, devShare, ...options } = opts;
  if (options.dev && options.dev.length > 0)
    return chooseLexicons
      ? trainCrfChoosingLexicons(train, { ...options, dev: options.dev }, options.lexicons ?? [])
      : trainCrf(train, options);
  if (chooseLexicons) throw new Error('choosing the lexicons needs a dev set');
  return trainCrfHoldingOutDev(train, options, devShare ?? DEFAULT_DEV_SHARE);
}

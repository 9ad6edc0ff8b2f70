/**
 * DemonstrationRetriever: picks the in-context demonstrations for one input sentence.
 * Modes (the last three are ablations):
 * - 'span-level': EL4NER SpanSim of the query's candidate spans (POS-weighted) against every
 *   pool sentence's spans;
 * - 'sentence-embedding': cosine of whole-sentence embeddings (same embedder);
 * - 'random': k pool sentences drawn with a seeded PRNG (seed mixed with the query text, so a
 *   query always gets the same draw);
 * - 'none': no demonstrations.
 * The default k is 5: the number of demonstrations EL4NER uses could not be confirmed from the
 * paper text available offline.
 */

import { RETRIEVAL_MODES } from '../config/schema.js';
import type { NerDocument } from '../core/types.js';
import type { PosOf } from '../pos/span-pos.js';
import { spansPos } from '../pos/span-pos.js';
import { loadPosTagger } from '../pos/tagger.js';
import type { Upos } from '../pos/upos.js';
import { type PosWeights, posWeight, resolveWeights, type WeightPresetName } from '../pos/weights.js';
import type { SpanEmbedder } from './embedders.js';
import {
  type BuildOrLoadResult,
  buildIndex,
  buildOrLoadIndex,
  ensureSentenceVectors,
  type IndexOptions,
  loadIndex,
  type PoolIndex,
  type PoolSource,
  spanTable,
} from './index.js';
import { randomK, type ScoredIndex, SpanSimScorer, storeDots, topK } from './span-sim.js';

// The modes are defined once, with the config's other enums.
export { RETRIEVAL_MODES };
export type RetrievalMode = (typeof RETRIEVAL_MODES)[number];

export const DEFAULT_K = 5;

export interface QuerySpan {
  text: string;
  /** POS of the span; computed from the query sentence when missing. */
  pos?: Upos | string;
  start?: number;
  end?: number;
}

export interface RetrieveOptions {
  mode?: RetrievalMode;
  k?: number;
  /** Seed for 'random'. */
  seed?: number;
  /** Pool sentences never to return (e.g. the query itself when it comes from the pool). */
  exclude?: Iterable<number>;
  /** Override the index's weight scheme for this query. */
  weights?: WeightPresetName | PosWeights;
  /** 'span-level' with an approximate index: score every sentence exactly anyway. */
  exact?: boolean;
  /** What 'span-level' does when the query has no spans: default 'sentence-embedding' ('none' when
   * the index has no sentence vectors). */
  noSpans?: 'sentence-embedding' | 'none';
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export class DemonstrationRetriever {
  readonly weights: PosWeights;
  readonly posOf: PosOf;
  private readonly scorer: SpanSimScorer;

  private constructor(
    readonly index: PoolIndex,
    readonly embedder: SpanEmbedder,
  ) {
    this.weights = index.manifest.settings.weights;
    this.posOf = index.manifest.settings.posOf;
    this.scorer = new SpanSimScorer(spanTable(index));
  }

  /** Builds an index in memory from documents (nothing is written). */
  static async build(docs: readonly NerDocument[], opts: IndexOptions): Promise<DemonstrationRetriever> {
    return new DemonstrationRetriever(await buildIndex(docs, opts), opts.embedder);
  }

  /** Loads a saved index; the embedder must be the one it was built with. */
  static async load(dir: string, embedder: SpanEmbedder): Promise<DemonstrationRetriever> {
    const index = await loadIndex(dir, { lazySentences: true });
    if (index.manifest.settings.embedder !== embedder.identity) {
      throw new Error(
        `${dir}: index built with embedder '${index.manifest.settings.embedder}', not '${embedder.identity}'`,
      );
    }
    return new DemonstrationRetriever(index, embedder);
  }

  /** Loads `dir` when it is up to date with the pool and settings, else (re)builds and saves it. */
  static async buildOrLoad(
    source: PoolSource,
    dir: string,
    opts: IndexOptions,
    readPool?: (path: string) => Promise<NerDocument[]>,
  ): Promise<{ retriever: DemonstrationRetriever } & Omit<BuildOrLoadResult, 'index'>> {
    const r = await buildOrLoadIndex(source, dir, opts, readPool, { lazySentences: true });
    return {
      retriever: new DemonstrationRetriever(r.index, opts.embedder),
      rebuilt: r.rebuilt,
      reason: r.reason,
    };
  }

  static fromIndex(index: PoolIndex, embedder: SpanEmbedder): DemonstrationRetriever {
    return new DemonstrationRetriever(index, embedder);
  }

  get size(): number {
    return this.index.docs.length;
  }

  sentence(i: number): NerDocument {
    const d = this.index.docs[i];
    if (!d) throw new RangeError(`no pool sentence ${i}`);
    return d;
  }

  /** The POS used for each query span (given, or tagged in the query sentence). */
  async queryPos(querySpans: readonly QuerySpan[], queryText: string): Promise<string[]> {
    const missing = querySpans.some((s) => s.pos === undefined);
    let tagged: Upos[] = [];
    if (missing) {
      const tagger = await loadPosTagger();
      tagged = spansPos((t) => tagger.tag(t), queryText, querySpans, this.posOf, { entity: true });
    }
    return querySpans.map((s, i) => s.pos ?? tagged[i]);
  }

  async retrieve(
    querySpans: readonly QuerySpan[],
    queryText: string,
    opts: RetrieveOptions = {},
  ): Promise<ScoredIndex[]> {
    const mode = opts.mode ?? 'span-level';
    const k = Math.max(0, Math.floor(opts.k ?? DEFAULT_K));
    const exclude = opts.exclude ? new Set(opts.exclude) : undefined;
    const { index } = this;
    const n = index.docs.length;
    if (k === 0 || n === 0 || mode === 'none') return [];
    if (mode === 'random') {
      const seed = ((opts.seed ?? 0) ^ fnv1a(queryText)) >>> 0;
      return randomK(n, k, seed, exclude).map((i) => ({ index: i, score: 0 }));
    }
    if (mode === 'sentence-embedding') {
      const store = await ensureSentenceVectors(index);
      if (!store) throw new Error('this index was built without sentence vectors (sentenceVectors: false)');
      const [q] = await this.embedder.embed([queryText]);
      return topK(storeDots(store, q), k, exclude);
    }
    if (mode !== 'span-level') throw new Error(`unknown retrieval mode '${mode as string}'`);
    const spans = querySpans.filter((s) => s.text.trim().length > 0);
    if (spans.length === 0) {
      if (opts.noSpans === 'none' || !index.manifest.stores.sentences) return [];
      return this.retrieve([], queryText, { ...opts, mode: 'sentence-embedding' });
    }
    const pos = await this.queryPos(spans, queryText);
    const vectors = await this.embedder.embed(spans.map((s) => s.text));
    if (index.ann && !opts.exact)
      return index.ann.topK(vectors, this.queryWeights(pos, opts.weights), k, exclude);
    return this.scorer.topK(vectors, this.queryWeights(pos, opts.weights), k, exclude);
  }

  /** SpanSim scores of all pool sentences for already embedded query spans. */
  spanScores(
    vectors: readonly Float32Array[],
    pos: readonly string[],
    weights?: WeightPresetName | PosWeights,
  ): Float64Array {
    return this.scorer.scores(vectors, this.queryWeights(pos, weights));
  }

  private queryWeights(pos: readonly string[], weights?: WeightPresetName | PosWeights): Float64Array {
    const w = weights === undefined ? this.weights : resolveWeights(weights);
    const ws = new Float64Array(pos.map((p) => posWeight(p, w)));
    // All-zero weights would make SpanSim 0/0: fall back to uniform weights.
    if (ws.every((x) => x === 0)) ws.fill(1);
    return ws;
  }
}

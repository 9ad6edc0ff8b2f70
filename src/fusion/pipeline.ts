/**
 * SLM + LLM fusion as a document tagger, with its evaluation report.
 *
 * `createFusion` tags a document with the SLM, asks the LLM (when configured) for an inline
 * tagged rewrite with logprobs, and fuses them conflict by conflict (fuse.ts). When no LLM is
 * configured, or its call fails, the SLM's answer is returned alone and the stats say why.
 */

import { setImmediate as nextTurn } from 'node:timers/promises';
import { chunkTokens } from '../core/chunks.js';
import { attachDocumentContext } from '../core/context.js';
import { ConfigError } from '../core/errors.js';
import { type LineRange, openEachLine, tagLines } from '../core/lines.js';
import { orderedPool } from '../core/ordered-pool.js';
import { detectScheme } from '../core/tags.js';
import { alignTokens, tokenize } from '../core/tokenize.js';
import type { Entity, NerDocument, SourceVote, TagScheme, Token } from '../core/types.js';
import type { Engine } from '../engines/types.js';
import { type Counts, mean, type Prf, prf, zeroCounts } from '../eval/prf.js';
import { countDocument } from '../eval/strict.js';
import { addTokenCounts } from '../eval/token-level.js';
import {
  addKindCounts,
  type DecisionCounts,
  type DecisionKindCounts,
  entitiesFromSpans,
  type FuseResult,
  type FusionCase,
  fuseCase,
  slmConfidence,
  zeroDecisions,
  zeroKindCounts,
} from './fuse.js';
import {
  type DemonstrationSource,
  type InlineEntity,
  type InlineParse,
  runInlineTagging,
} from './inline-tagging.js';
import { type LambdaSearchResult, searchLambda } from './lambda.js';
import {
  entityProbability,
  locateTokens,
  outsideProbability,
  type ProbabilityKind,
} from './probabilities.js';
import { type SlmLike, type SlmTagging, slmTypes } from './slm.js';

export interface FusionOptions {
  slm: SlmLike;
  /** The LLM that tags inline. Without one, fusion is the SLM alone. */
  llm?: Engine;
  /** Demonstrations for the inline prompt (e.g. by similarity). */
  retriever?: DemonstrationSource;
  /** A positive number, or 'auto' to choose it with `tune(dev)` first. */
  lambda: number | 'auto';
  /**
   * The lambda for removing SLM entities the LLM left outside (fuse.ts). Default: the same as
   * `lambda` when that is a number; with 'auto' it is chosen by `tune` too.
   */
  lambdaOutside?: number;
  probability?: ProbabilityKind;
  /** Entity types the LLM may use. Default: the SLM's types. */
  types?: readonly string[];
  /** Alternatives per token requested with the logprobs. Default 5. */
  topLogprobs?: number;
  /** Name the SLM goes by in entity sources. Default 'slm'. */
  slmName?: string;
  /**
   * Longer documents go to the LLM in pieces of whole sentences up to this many characters
   * (one call each); a failed piece makes the whole document fall back to the SLM. Default 2000.
   */
  maxChars?: number;
}

export type FallbackReason = 'no-llm' | 'llm-error';

export interface DocumentAnalysis {
  doc: NerDocument;
  fusion: FusionCase;
  /** The SLM's own entities. */
  slmEntities: Entity[];
  /** The LLM's own entities (aligned to the input); undefined when it gave no answer. */
  llmEntities?: InlineEntity[];
  parse?: InlineParse;
  /** True when the LLM answer came with token logprobs (in every piece of a long document). */
  logprobs: boolean;
  /** Pieces the LLM answered (one call each; 0 when it did not answer) and how many without logprobs. */
  pieces: number;
  piecesWithoutLogprobs: number;
  fallback?: FallbackReason;
  error?: string;
}

export interface FusionStats {
  tokens: number;
  lambdaOutside: number;
  /** Tokens by who set their label: both agree, or the side that won the conflict they are disputed in. */
  decided: DecisionCounts;
  /** Conflicts by kind (type, boundary, LLM-only entity, SLM-only entity) and by winner. */
  decisions: DecisionKindCounts;
  lambda: number;
  probability: ProbabilityKind;
  llmEntities: number;
  /** LLM entities without a probability (no logprobs, markup not found): these cannot override the SLM. */
  llmEntitiesWithoutProbability: number;
  /** True when the LLM answer came with token logprobs (in every piece of a long document). */
  logprobs: boolean;
  /**
   * Pieces of the document the LLM answered (0 when it did not), and those answered without
   * logprobs: there its answer cannot change the SLM's entities.
   */
  pieces: number;
  piecesWithoutLogprobs: number;
  unknownTypes: Record<string, number>;
  unclosed: number;
  unaligned: number;
  overlapping: number;
  /** Set when the answer is the SLM's alone. */
  fallback?: FallbackReason;
  error?: string;
}

export interface FusionResult {
  doc: NerDocument;
  stats: FusionStats;
}

export interface Fusion {
  /** The lambda in use; undefined while 'auto' has not been tuned. */
  readonly lambda: number | undefined;
  /** The lambda for removing SLM-only entities; undefined while 'auto' has not been tuned. */
  readonly lambdaOutside: number | undefined;
  readonly probability: ProbabilityKind;
  readonly scheme: TagScheme;
  /** Entity types the LLM may use. */
  readonly types: readonly string[];
  /** Whether the SLM reads a document's context (then lists of documents get theirs first). */
  readonly readsContext: boolean;
  /** Runs both models on a document (the only step that calls them). */
  analyse(doc: NerDocument, options?: { signal?: AbortSignal }): Promise<DocumentAnalysis>;
  /**
   * Fuses an analysis at the given (or current) lambdas; no model calls. A lambda given without
   * `lambdaOutside` is used for both.
   */
  fuse(analysis: DocumentAnalysis, lambda?: number, lambdaOutside?: number): FusionResult;
  tagDocument(doc: NerDocument, options?: { signal?: AbortSignal }): Promise<FusionResult>;
  /** Chooses lambda on gold-labelled dev documents (strict micro-F1) and keeps it. */
  tune(dev: readonly NerDocument[], options?: TuneOptions): Promise<TunedLambda>;
}

/** What `tune` chose, and on how much: a lambda chosen where the LLM failed is a degraded choice. */
export interface TunedLambda extends LambdaSearchResult {
  /** Dev documents the LLM failed on (the SLM's entities stood alone there while lambda was chosen). */
  llmFailures: number;
}

export interface TuneOptions {
  grid?: readonly number[];
  concurrency?: number;
  /** Analyses already made for these documents (same order), to avoid calling the models again. */
  analyses?: readonly DocumentAnalysis[];
}

/** Tokens with offsets for a document: its own (objects or strings) or the project tokenizer's. */
export function documentTokensOf(doc: NerDocument): Token[] {
  const toks = doc.tokens as unknown;
  if (Array.isArray(toks) && toks.length > 0) {
    if (typeof toks[0] === 'object') return toks as Token[];
    if (typeof toks[0] === 'string') return alignTokens(doc.text, toks as string[], { allowGaps: true });
  }
  return tokenize(doc.text);
}

export { chunkTokens };

/**
 * Below this share of a piece's characters found in the answer, the answer is taken to be about
 * another text (or empty), not a rewrite with words dropped: the few characters that align by
 * chance would otherwise let it remove or change the SLM's entities. Such a piece fails like a
 * failed call, and the document falls back to the SLM.
 */
export const MIN_COVERAGE = 0.5;

export function createFusion(options: FusionOptions): Fusion {
  const { slm, llm } = options;
  const probability = options.probability ?? 'category';
  const scheme: TagScheme = slm.scheme ?? detectScheme(slm.labels);
  const types = options.types ?? slmTypes(slm.labels);
  const slmName = options.slmName ?? 'slm';
  if (typeof options.lambda === 'number' && !(options.lambda > 0)) {
    throw new ConfigError(`fusion.lambda must be a positive number or 'auto' (got ${options.lambda})`);
  }
  const labelIndex = new Map(slm.labels.map((l, i) => [l, i]));
  const maxChars = options.maxChars ?? 2000;
  let lambda: number | undefined = typeof options.lambda === 'number' ? options.lambda : undefined;
  if (options.lambdaOutside !== undefined && !(options.lambdaOutside >= 0)) {
    throw new ConfigError(`fusion lambdaOutside must be a number >= 0 (got ${options.lambdaOutside})`);
  }
  let lambdaOutside: number | undefined = options.lambdaOutside ?? lambda;

  /**
   * The SLM's tags over the document, read as its `predict` reads them: line by line, and a
   * document longer than maxChars chunk by chunk, with a turn for the event loop before each chunk.
   */
  async function tagWithSlm(
    doc: NerDocument,
    tokens: readonly Token[],
    signal?: AbortSignal,
  ): Promise<SlmTagging & { lines: LineRange[] }> {
    const out: SlmTagging & { lines: LineRange[] } = { tags: [], marginals: [], lines: [] };
    const chunks = chunkTokens(doc.text, tokens, maxChars);
    for (const { first, last } of chunks) {
      if (chunks.length > 1) {
        await nextTurn();
        signal?.throwIfAborted();
      }
      const t = await tagLines(
        (words) => slm.tagTokens(words, doc.context),
        doc.text,
        tokens.slice(first, last),
      );
      for (let i = 0; i < t.tags.length; i++) {
        out.tags.push(t.tags[i]);
        out.marginals.push(t.marginals[i]);
      }
      for (const l of t.lines) out.lines.push({ start: l.start + first, end: l.end + first });
    }
    return out;
  }

  async function analyse(doc: NerDocument, opts: { signal?: AbortSignal } = {}): Promise<DocumentAnalysis> {
    const tokens = documentTokensOf(doc);
    const tagged = await tagWithSlm(doc, tokens, opts.signal);
    const fusion: FusionCase = {
      tokens,
      slmTags: openEachLine(tagged.tags, tagged.lines),
      slmConfidence: tagged.marginals.map((m) => slmConfidence(m)),
      slmTagProbability: tagged.marginals.map((m, i) => m[labelIndex.get(tagged.tags[i]) ?? -1] ?? 0),
    };
    const slmEntities = entitiesFromSpans(doc.text, tokens, fuseCase(fusion, 1, probability, scheme).spans);
    const base = { doc, fusion, slmEntities, pieces: 0, piecesWithoutLogprobs: 0 };
    if (!llm) return { ...base, logprobs: false, fallback: 'no-llm' };
    if (tokens.length === 0) return { ...base, llmEntities: [], logprobs: false };
    try {
      const llmEntities: InlineEntity[] = [];
      const parse: InlineParse = {
        entities: llmEntities,
        unknownTypes: {},
        unclosed: 0,
        strayClosing: 0,
        unaligned: 0,
        overlapping: 0,
        coverage: 0,
        tokenOutput: new Array<number>(tokens.length).fill(-1),
      };
      fusion.llm = [];
      const outside = new Array<number | undefined>(tokens.length).fill(undefined);
      fusion.llmOutside = outside;
      let pieces = 0;
      let piecesWithoutLogprobs = 0;
      let covered = 0;
      for (const chunk of chunkTokens(doc.text, tokens, maxChars)) {
        const offset = tokens[chunk.first].start;
        const end = tokens[chunk.last - 1].end;
        const chunkTokensLocal = tokens
          .slice(chunk.first, chunk.last)
          .map((t) => ({ text: t.text, start: t.start - offset, end: t.end - offset }));
        const chunkText = doc.text.slice(offset, end);
        // The demonstration source sees the SLM's entities as query spans, never the gold ones.
        const slmHere = slmEntities
          .filter((e) => e.start >= offset && e.end <= end)
          .map((e) => ({ ...e, start: e.start - offset, end: e.end - offset }));
        const { response, parse: p } = await runInlineTagging(
          llm,
          { ...doc, id: doc.id, text: chunkText, tokens: chunkTokensLocal, entities: slmHere },
          { types, demonstrations: options.retriever, topLogprobs: options.topLogprobs, signal: opts.signal },
        );
        if (p.coverage < MIN_COVERAGE)
          throw new Error(
            `the answer does not rewrite the text it was given: ${Math.round(100 * p.coverage)}% of the text's characters found in it (answer: ${JSON.stringify(response.text.slice(0, 80))})`,
          );
        const located = response.logprobs?.length
          ? locateTokens(response.text, response.logprobs)
          : undefined;
        pieces++;
        if (!located) piecesWithoutLogprobs++;
        for (const [t, off] of p.tokenOutput.entries()) {
          // Output offsets stay relative to this chunk's answer, like the markup offsets.
          parse.tokenOutput[chunk.first + t] = off;
          if (located && off >= 0) outside[chunk.first + t] = outsideProbability(located, off);
        }
        for (const e of p.entities) {
          const prob = {
            category: entityProbability('category', e.markup, located),
            boundary: entityProbability('boundary', e.markup, located),
            mean: entityProbability('mean', e.markup, located),
          };
          const tokenStart = e.tokenStart + chunk.first;
          const tokenEnd = e.tokenEnd + chunk.first;
          fusion.llm.push({ tokenStart, tokenEnd, type: e.type, probability: prob });
          // Markup offsets stay relative to this chunk's answer.
          llmEntities.push({
            ...e,
            start: e.start + offset,
            end: e.end + offset,
            tokenStart,
            tokenEnd,
            score: prob[probability],
          });
        }
        for (const [k, v] of Object.entries(p.unknownTypes))
          parse.unknownTypes[k] = (parse.unknownTypes[k] ?? 0) + v;
        parse.unclosed += p.unclosed;
        parse.strayClosing += p.strayClosing;
        parse.unaligned += p.unaligned;
        parse.overlapping += p.overlapping;
        const chars = chunkText.replace(/\s/g, '').length;
        covered += p.coverage * chars;
      }
      const total = doc.text.replace(/\s/g, '').length;
      parse.coverage = total === 0 ? 1 : covered / total;
      return {
        ...base,
        llmEntities,
        parse,
        logprobs: piecesWithoutLogprobs === 0,
        pieces,
        piecesWithoutLogprobs,
      };
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      delete fusion.llm;
      delete fusion.llmOutside;
      return {
        ...base,
        logprobs: false,
        fallback: 'llm-error',
        error: err instanceof Error ? err.message : String(err),
      };
    }
  }

  function fuse(a: DocumentAnalysis, at?: number, atOutside?: number): FusionResult {
    const l = at ?? lambda;
    const lo = atOutside ?? (at !== undefined ? at : lambdaOutside);
    if (l === undefined || lo === undefined) {
      throw new ConfigError(
        "fusion.lambda is 'auto' but no dev set was given to choose it: call tune(dev) or set a number",
      );
    }
    const r: FuseResult = fuseCase(a.fusion, l, probability, scheme, lo);
    const entities = entitiesFromSpans(a.doc.text, a.fusion.tokens, r.spans).map((e, k): Entity => {
      const s = r.spans[k];
      const sources: SourceVote[] = [];
      if (s.side !== 'llm') sources.push({ model: slmName, stage: 'fusion', type: e.type });
      if (s.side !== 'slm' && llm) sources.push({ model: llm.name, stage: 'fusion', type: e.type });
      // The SLM's mean marginal of its tags, or the LLM's probability of the entity it won.
      return s.score !== undefined ? { ...e, score: s.score, sources } : { ...e, sources };
    });
    const doc: NerDocument = { ...a.doc, entities };
    if (a.doc.tokens && a.doc.tokens.length === r.tags.length) doc.tags = r.tags;
    const entitiesLlm = a.llmEntities ?? [];
    const stats: FusionStats = {
      tokens: a.fusion.tokens.length,
      lambdaOutside: lo,
      decided: r.counts,
      decisions: r.decisions,
      lambda: l,
      probability,
      llmEntities: entitiesLlm.length,
      llmEntitiesWithoutProbability: (a.fusion.llm ?? []).filter(
        (e) => e.probability[probability] === undefined,
      ).length,
      logprobs: a.logprobs,
      pieces: a.pieces,
      piecesWithoutLogprobs: a.piecesWithoutLogprobs,
      unknownTypes: a.parse?.unknownTypes ?? {},
      unclosed: a.parse?.unclosed ?? 0,
      unaligned: a.parse?.unaligned ?? 0,
      overlapping: a.parse?.overlapping ?? 0,
    };
    if (a.fallback) stats.fallback = a.fallback;
    if (a.error) stats.error = a.error;
    return { doc, stats };
  }

  const fusion: Fusion = {
    get lambda() {
      return lambda;
    },
    get lambdaOutside() {
      return lambdaOutside;
    },
    probability,
    scheme,
    types,
    readsContext: slm.readsContext === true,
    analyse,
    fuse,
    async tagDocument(doc, opts) {
      const a = await analyse(doc, opts);
      return fuse(a);
    },
    async tune(dev, opts = {}) {
      const analyses =
        opts.analyses ??
        (await orderedPool(slm.readsContext ? attachDocumentContext(dev) : dev, opts.concurrency ?? 4, (d) =>
          analyse(d),
        ));
      const result = searchLambda(
        analyses.map((a, i) => ({ fusion: a.fusion, text: dev[i].text, gold: dev[i].entities })),
        { kind: probability, scheme, grid: opts.grid },
      );
      lambda = result.lambda;
      lambdaOutside = result.lambdaOutside;
      return { ...result, llmFailures: analyses.filter((a) => a.fallback === 'llm-error').length };
    },
  };
  return fusion;
}

export interface Scores {
  strict: Prf & Counts;
  /** Token-level macro F1 over entity types (labels without B/I prefixes), as in the fusion paper. */
  tokenMacro: Prf;
}

export interface FusionReport {
  documents: number;
  lambda: number;
  /** The lambda for removing SLM-only entities. */
  lambdaOutside: number;
  probability: ProbabilityKind;
  lambdaSearch?: TunedLambda;
  slm: Scores;
  /** The LLM's inline answers on their own; undefined without an LLM. Failed calls count as no entities. */
  llm?: Scores;
  fused: Scores;
  /** Tokens by who set their label (agree + slm + llm = all tokens). */
  decided: DecisionCounts;
  /** Conflicts by kind and winner: boundary decisions apart from type decisions. */
  decisions: DecisionKindCounts;
  fallbacks: Record<FallbackReason, number>;
  /** Documents whose LLM answer had no logprobs in any piece (so the LLM could not override there). */
  withoutLogprobs: number;
  /** Long documents whose LLM answer had no logprobs in some of their pieces (but not all). */
  partlyWithoutLogprobs: number;
  llmEntitiesWithoutProbability: number;
}

class Scorer {
  private readonly strict = zeroCounts();
  private readonly tokens = new Map<string, Counts>();
  add(gold: NerDocument, tokens: readonly Token[], pred: readonly Entity[]): void {
    const c = countDocument(gold.entities, pred).total;
    this.strict.tp += c.tp;
    this.strict.fp += c.fp;
    this.strict.fn += c.fn;
    addTokenCounts(this.tokens, tokens, gold.entities, pred);
  }
  scores(): Scores {
    const per = [...this.tokens.values()].map(prf);
    const macroP = mean(per.map((x) => x.p));
    const macroR = mean(per.map((x) => x.r));
    return {
      strict: { ...this.strict, ...prf(this.strict) },
      tokenMacro: { p: macroP, r: macroR, f1: mean(per.map((x) => x.f1)) },
    };
  }
}

export interface FusionEvalOptions {
  /** Gold-labelled dev documents to choose lambda on when it is 'auto'. */
  dev?: readonly NerDocument[];
  grid?: readonly number[];
  concurrency?: number;
}

/**
 * Scores SLM alone, LLM alone and the fusion on gold documents: strict micro P/R/F1 and the
 * token-level macro F1 of the paper, with how many tokens each side decided.
 */
export async function fusionEval(
  gold: readonly NerDocument[],
  fusion: Fusion,
  options: FusionEvalOptions = {},
): Promise<FusionReport> {
  let lambdaSearch: TunedLambda | undefined;
  if (fusion.lambda === undefined) {
    if (!options.dev || options.dev.length === 0) {
      throw new ConfigError("fusion.lambda is 'auto': a dev set is needed to choose it");
    }
    lambdaSearch = await fusion.tune(options.dev, { grid: options.grid, concurrency: options.concurrency });
  }
  const docs = fusion.readsContext ? attachDocumentContext(gold) : gold;
  const analyses = await orderedPool(docs, options.concurrency ?? 4, (d) => fusion.analyse(d));
  const slm = new Scorer();
  const fused = new Scorer();
  const llmScorer = new Scorer();
  let hasLlm = false;
  const decided = zeroDecisions();
  const decisions = zeroKindCounts();
  const fallbacks: Record<FallbackReason, number> = { 'no-llm': 0, 'llm-error': 0 };
  let withoutLogprobs = 0;
  let partlyWithoutLogprobs = 0;
  let llmEntitiesWithoutProbability = 0;
  for (const [i, a] of analyses.entries()) {
    const g = gold[i];
    const tokens = a.fusion.tokens;
    const r = fusion.fuse(a);
    slm.add(g, tokens, a.slmEntities);
    fused.add(g, tokens, r.doc.entities);
    if (a.fallback !== 'no-llm') {
      hasLlm = true;
      llmScorer.add(g, tokens, a.llmEntities ?? []);
    }
    if (a.fallback) fallbacks[a.fallback]++;
    else if (a.pieces > 0 && a.piecesWithoutLogprobs === a.pieces) withoutLogprobs++;
    else if (a.piecesWithoutLogprobs > 0) partlyWithoutLogprobs++;
    decided.agree += r.stats.decided.agree;
    decided.slm += r.stats.decided.slm;
    decided.llm += r.stats.decided.llm;
    addKindCounts(decisions, r.stats.decisions);
    llmEntitiesWithoutProbability += r.stats.llmEntitiesWithoutProbability;
  }
  return {
    documents: gold.length,
    lambda: fusion.lambda as number,
    lambdaOutside: fusion.lambdaOutside as number,
    probability: fusion.probability,
    lambdaSearch,
    slm: slm.scores(),
    llm: hasLlm ? llmScorer.scores() : undefined,
    fused: fused.scores(),
    decided,
    decisions,
    fallbacks,
    withoutLogprobs,
    partlyWithoutLogprobs,
    llmEntitiesWithoutProbability,
  };
}

/**
 * The EL4NER orchestrator: demonstration retrieval -> span extraction by every backbone (union)
 * -> span classification by every backbone (hard vote) -> type verification by one verifier.
 *
 * Documents are cut into chunks of at most `maxChars` (chunks.ts); chunks of all documents run
 * concurrently under `config.concurrency`, the backbones of one stage run concurrently. Results do
 * not depend on the concurrency: everything is sorted by offsets and by backbone order.
 * A backbone whose call fails (EngineError after its retries, or anything else) is left out of
 * that stage for that chunk and the failure is counted per model and stage.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import pLimit from 'p-limit';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import {
  compareEntities,
  type Entity,
  type NerDocument,
  NONE_TYPE,
  type SourceVote,
  type Span,
} from '../core/types.js';
import { CostLedger, type CostSummary } from '../engines/cost.js';
import type { ChatRequest, ChatResponse, Engine } from '../engines/types.js';
import type { DemonstrationRetriever } from '../retrieval/public.js';
import { type Chunk, chunkText, shift } from './chunks.js';
import { groundMentions, type SpanMention } from './grounding.js';
import {
  answerJson,
  createTypeMapper,
  parseJointAnswer,
  parseSpanAnswer,
  parseTypeAnswer,
  parseVerifyAnswer,
} from './parse.js';
import {
  classifyPrompt,
  extractPrompt,
  jointPrompt,
  type Prompt,
  type PromptContext,
  preExtractPrompt,
  verifyPrompt,
} from './prompts/index.js';
import { buildReport, type PipelineReport, type ReportOptions } from './report.js';
import { type ResolvedStages, resolveStages, type StageOverrides } from './stages.js';
import { decideType, unionSpans, unitWeight, type Vote, type WeightFn, weightsFromConfig } from './voting.js';

/** Selects demonstrations for one input text (the retrieval stage). */
export interface DemoSource {
  /** Number of pool sentences. */
  readonly size: number;
  select(
    text: string,
    querySpans: readonly Span[],
    opts: { mode: ResolvedStages['retrieval']; k: number },
  ): Promise<NerDocument[]>;
  /** Pool documents, for labels when the config gives none. */
  docs(): readonly NerDocument[];
}

/** A supervised tagger voting as one more backbone (config `fusion.voter`), e.g. the CRF. */
export interface SlmVoter {
  readonly name: string;
  predict(doc: {
    id: string;
    text: string;
  }): { entities: readonly Entity[] } | Promise<{ entities: readonly Entity[] }>;
}

interface EngineSetLike {
  engines: Map<string, Engine>;
  ledger?: CostLedger;
  close?(): Promise<void>;
}

export interface PipelineOptions {
  config: Config | Record<string, unknown>;
  /** Ready engines (a Map or an EngineSet from createEngines); default: built from the config. */
  engines?: Map<string, Engine> | EngineSetLike;
  /** Demonstrations: a DemoSource, or pool documents (indexed in memory); default: `config.pool`. */
  demos?: DemoSource | readonly NerDocument[];
  stages?: StageOverrides;
  noCache?: boolean;
  cachePath?: string;
  /** Where notices go (default: stderr). */
  log?: (message: string) => void;
  /** Overrides config.concurrency. */
  concurrency?: number;
  /**
   * An SLM voter; default: the SLM of `fusion.slm` when `fusion.voter` is true. Its spans join the
   * union (extraction 'union') and it votes in classification ('vote' / 'weighted-vote'); 'single'
   * stages leave it out. Without decomposition it is one more joint model (extraction 'union').
   */
  slm?: SlmVoter;
}

export interface ModelFailure {
  model: string;
  stage: string;
  count: number;
  lastError: string;
}

/** What happened in one chunk, in document offsets; used by the report. */
export interface ChunkTrace {
  doc: number;
  start: number;
  end: number;
  /** Query spans from zero-shot pre-extraction (span-level retrieval). */
  preSpans: Span[];
  demos: string[];
  /** Spans each extractor proposed (joint mode: typed spans, types dropped). */
  perModel: Record<string, Span[]>;
  union: Span[];
  /** Entities after the vote, before verification. */
  voted: Entity[];
  final: Entity[];
  hallucinated: number;
  ambiguous: number;
  invalidTypes: number;
  /** Spans a classifier answered nothing for. */
  missingAnswers: number;
}

export interface RunResult {
  docs: NerDocument[];
  traces: ChunkTrace[];
  failures: ModelFailure[];
  seconds: number;
}

export interface ExtractOptions {
  /** Called once per finished document, in input order (with that document's chunk traces). */
  onDocument?: (doc: NerDocument, index: number, traces: readonly ChunkTrace[]) => void | Promise<void>;
}

export type PipelineInput = string | readonly string[] | readonly NerDocument[];

export interface Pipeline {
  readonly stages: ResolvedStages;
  /** Resolves when engines, pool and labels are ready (extract/evaluate await it themselves). */
  ready(): Promise<PipelineInfo>;
  extract(input: PipelineInput, opts?: ExtractOptions): Promise<NerDocument[]>;
  run(input: PipelineInput, opts?: ExtractOptions): Promise<RunResult>;
  evaluate(gold: readonly NerDocument[], opts?: ReportOptions): Promise<PipelineReport>;
  /** Calls, tokens and time per stage and model so far. */
  cost(): CostSummary;
  /** A printable cost table. */
  formatCost(): string;
  close(): Promise<void>;
}

export interface PipelineInfo {
  labels: string[];
  backbones: string[];
  verifier: string;
  singleModel: string;
  zeroShot: boolean;
  poolSize: number;
}

function toDocs(input: PipelineInput): NerDocument[] {
  if (typeof input === 'string') return [{ id: '1', text: input, entities: [] }];
  return input.map((x, i) =>
    typeof x === 'string'
      ? { id: String(i + 1), text: x, entities: [] }
      : {
          id: x.id,
          text: x.text,
          entities: [],
          ...(x.tokens ? { tokens: x.tokens } : {}),
          ...(x.meta ? { meta: x.meta } : {}),
        },
  );
}

function isDemoSource(x: unknown): x is DemoSource {
  return typeof (x as DemoSource).select === 'function';
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`.slice(0, 300);
  return String(e).slice(0, 300);
}

/** Builds a DemoSource from the retrieval module over in-memory documents or the config pool. */
async function demoSourceFromPool(
  config: Config,
  opts: {
    docs?: readonly NerDocument[];
    noCache?: boolean;
    embedEngine?: Engine;
    preExtract?: (text: string) => Promise<Span[]>;
    /** Changes whenever pre-extraction would (models, labels): part of the index settings hash. */
    preExtractIdentity?: string;
  },
): Promise<DemoSource> {
  const r = await import('../retrieval/public.js');
  const embedder = opts.embedEngine ? new r.EngineEmbedder(opts.embedEngine) : new r.LexicalEmbedder();
  const indexOpts = {
    embedder,
    spans: config.retrieval.poolSpans,
    preExtract: opts.preExtract ? (text: string) => opts.preExtract!(text) : undefined,
    preExtractIdentity: opts.preExtractIdentity,
    weights: config.retrieval.weights,
    posOf: config.retrieval.posOf,
  };
  let retriever: DemonstrationRetriever;
  if (opts.docs) retriever = await r.DemonstrationRetriever.build(opts.docs, indexOpts);
  else {
    const pool = config.pool!;
    if (existsSync(pool) && statSync(pool).isDirectory())
      retriever = await r.DemonstrationRetriever.load(pool, embedder);
    else if (opts.noCache) {
      const { docs } = await r.readPoolFile(pool);
      retriever = await r.DemonstrationRetriever.build(docs, indexOpts);
    } else {
      const dir = join(
        dirname(config.cache.path),
        `index-${basename(pool).replace(/[^A-Za-z0-9_.-]/g, '_')}`,
      );
      retriever = (await r.DemonstrationRetriever.buildOrLoad({ poolFile: pool }, dir, indexOpts)).retriever;
    }
  }
  const byText = new Map<string, number[]>();
  for (let i = 0; i < retriever.size; i++) {
    const t = retriever.sentence(i).text;
    byText.set(t, [...(byText.get(t) ?? []), i]);
  }
  return {
    size: retriever.size,
    docs: () => retriever.index.docs,
    async select(text, querySpans, { mode, k }) {
      if (mode === 'none' || k === 0) return [];
      const hits = await retriever.retrieve(
        querySpans.map((s) => ({ text: s.text, start: s.start, end: s.end })),
        text,
        // A pool sentence identical to the input is never its own demonstration.
        { mode, k, seed: config.retrieval.seed, exclude: byText.get(text) ?? [] },
      );
      return hits.map((h) => retriever.sentence(h.index));
    },
  };
}

export function createPipeline(arg: Config | PipelineOptions): Pipeline {
  const options: PipelineOptions = 'config' in arg ? (arg as PipelineOptions) : { config: arg as Config };
  const config = parseConfig(options.config);
  const stages = resolveStages(config, options.stages);
  const log = options.log ?? ((m: string) => process.stderr.write(`el4ner: ${m}\n`));
  if (!config.labels?.length && !config.pool && !options.demos) {
    throw new ConfigError(
      'no labels and no pool: give `labels` (entity types) or a labelled `pool` in the config',
    );
  }
  const concurrency = options.concurrency ?? config.concurrency;

  let engineSet: EngineSetLike | undefined;
  let ownLedger: CostLedger | undefined;
  let demos: DemoSource | undefined;
  let info: PipelineInfo | undefined;
  let init: Promise<PipelineInfo> | undefined;
  let weight: WeightFn = unitWeight;
  let typeOf: (raw: string) => string | undefined = () => undefined;
  let closed = false;
  let slm: SlmVoter | undefined = options.slm;

  const engine = (name: string): Engine => {
    const e = engineSet!.engines.get(name);
    if (!e) throw new ConfigError(`no engine for model "${name}"`);
    return e;
  };

  /** One model call; failures become `undefined` and are counted. */
  const call = async (
    model: string,
    stage: string,
    prompt: Prompt,
    failures: Map<string, ModelFailure>,
  ): Promise<ChatResponse | undefined> => {
    const req: ChatRequest = {
      messages: prompt.messages,
      jsonSchema: prompt.jsonSchema,
      stage,
      temperature: 0,
    };
    const t0 = Date.now();
    try {
      const r = await engine(model).chat(req);
      ownLedger?.record({
        stage,
        model,
        promptTokens: r.usage.promptTokens,
        completionTokens: r.usage.completionTokens,
        cachedPromptTokens: r.usage.cachedPromptTokens,
        ms: r.latencyMs || Date.now() - t0,
        cached: r.fromCache === true,
      });
      return r;
    } catch (e) {
      ownLedger?.record({
        stage,
        model,
        promptTokens: 0,
        completionTokens: 0,
        cachedPromptTokens: 0,
        ms: Date.now() - t0,
        cached: false,
        failed: true,
      });
      const key = `${model}\u0000${stage}`;
      const f = failures.get(key) ?? { model, stage, count: 0, lastError: '' };
      f.count++;
      f.lastError = describeError(e);
      failures.set(key, f);
      return undefined;
    }
  };

  const preExtract = async (
    text: string,
    models: readonly string[],
    labels: readonly string[],
    failures: Map<string, ModelFailure>,
  ): Promise<{ spans: Span[]; hallucinated: number; ambiguous: number }> => {
    const prompt = preExtractPrompt({ labels, descriptions: config.labelDescriptions }, text);
    const answers = await Promise.all(models.map((m) => call(m, 'retrieval', prompt, failures)));
    let hallucinated = 0;
    let ambiguous = 0;
    const perModel = answers.map((a, i) => {
      const g = groundMentions(text, a ? parseSpanAnswer(answerJson(a)).mentions : []);
      hallucinated += g.hallucinated;
      ambiguous += g.ambiguous;
      return { model: models[i], spans: g.spans };
    });
    return {
      spans: unionSpans(perModel).map(({ start, end, text: t }) => ({ start, end, text: t })),
      hallucinated,
      ambiguous,
    };
  };

  const initialize = async (): Promise<PipelineInfo> => {
    if (options.engines instanceof Map) engineSet = { engines: options.engines };
    else if (options.engines) engineSet = options.engines;
    else {
      const { createEngines } = await import('../engines/registry.js');
      engineSet = await createEngines(config, { noCache: options.noCache, cachePath: options.cachePath });
    }
    if (!engineSet.ledger) ownLedger = new CostLedger();
    const names = [...engineSet.engines.keys()];
    const embeddingOnly = new Set<string>(config.embedding ? [config.embedding.model] : []);
    for (const m of config.models) if (m.engine === 'llama-cpp' && m.embedding) embeddingOnly.add(m.name);
    const backbones = config.backbones ?? names.filter((n) => !embeddingOnly.has(n));
    if (backbones.length === 0)
      throw new ConfigError('no backbone models: add chat models to `models` or list `backbones`');
    for (const b of backbones) engine(b);
    const verifier = config.verifier ?? backbones[0];
    const singleModel = stages.singleModel ?? backbones[0];
    if (stages.verification) engine(verifier);
    if (stages.extraction === 'single' || stages.classification === 'single') engine(singleModel);

    if (!slm && config.fusion?.voter) {
      const { loadSlm } = await import('../slm/load.js');
      const tagger = await loadSlm(config.fusion.slm);
      slm = { name: tagger.name, predict: (doc) => tagger.predict(doc) };
    }
    if (slm && backbones.includes(slm.name))
      throw new ConfigError(`the SLM voter's name "${slm.name}" is also a backbone name`);
    const failures = new Map<string, ModelFailure>();
    // Pool pre-extraction (retrieval.poolSpans 'llm') needs the labels before the pool is indexed.
    let preLabels = config.labels ?? [];
    if (preLabels.length === 0 && config.retrieval.poolSpans === 'llm') {
      let poolDocs: readonly NerDocument[] = [];
      if (Array.isArray(options.demos)) poolDocs = options.demos;
      else if (config.pool && existsSync(config.pool) && statSync(config.pool).isFile())
        poolDocs = (await (await import('../retrieval/public.js')).readPoolFile(config.pool)).docs;
      preLabels = [...new Set(poolDocs.flatMap((d) => d.entities.map((e) => e.type)))].sort();
    }
    // Same identity as `el4ner index --spans llm` (retrieval/llm-pre-extract.ts), so both share indexes.
    const preExtractIdentity = `llm-pre-extract:v1:${backbones.map((b) => engine(b).identity).join('+')}:${[...preLabels].sort().join(',')}`;
    const poolPreExtract = async (text: string) =>
      (await preExtract(text, backbones, preLabels, failures)).spans;
    if (options.demos) {
      demos = isDemoSource(options.demos)
        ? options.demos
        : await demoSourceFromPool(config, {
            docs: options.demos as readonly NerDocument[],
            preExtract: poolPreExtract,
            preExtractIdentity,
          });
    } else if (config.pool && stages.retrieval !== 'none') {
      const embedEngine = config.embedding ? engine(config.embedding.model) : undefined;
      demos = await demoSourceFromPool(config, {
        noCache: options.noCache,
        embedEngine,
        preExtract: poolPreExtract,
        preExtractIdentity,
      });
    } else if (config.pool && !config.labels?.length) {
      const { readPoolFile } = await import('../retrieval/public.js');
      const { docs } = await readPoolFile(config.pool);
      demos = { size: docs.length, docs: () => docs, select: async () => [] };
    }
    for (const f of failures.values())
      log(`model ${f.model} failed ${f.count} time(s) pre-extracting pool spans: ${f.lastError}`);
    let labels = config.labels ?? [];
    if (labels.length === 0 && demos)
      labels = [...new Set(demos.docs().flatMap((d) => d.entities.map((e) => e.type)))].sort();
    if (labels.length === 0)
      throw new ConfigError('no labels: the config has none and the pool has no entities');
    const zeroShot = !demos || demos.size === 0 || stages.retrieval === 'none';
    if (zeroShot)
      log(!demos ? 'no demonstration pool: running zero-shot' : 'retrieval none: running zero-shot');
    typeOf = createTypeMapper(labels);
    weight = stages.classification === 'weighted-vote' ? weightsFromConfig(config.voteWeights) : unitWeight;
    info = { labels, backbones, verifier, singleModel, zeroShot, poolSize: demos?.size ?? 0 };
    return info;
  };

  const ready = () => {
    if (closed) return Promise.reject(new Error('the pipeline is closed'));
    init ??= initialize();
    return init;
  };

  const processChunk = async (
    docIndex: number,
    chunk: Chunk,
    failures: Map<string, ModelFailure>,
  ): Promise<ChunkTrace> => {
    const inf = info!;
    const text = chunk.text;
    const trace: ChunkTrace = {
      doc: docIndex,
      start: chunk.start,
      end: chunk.start + text.length,
      preSpans: [],
      demos: [],
      perModel: {},
      union: [],
      voted: [],
      final: [],
      hallucinated: 0,
      ambiguous: 0,
      invalidTypes: 0,
      missingAnswers: 0,
    };
    // 1. Demonstration retrieval.
    let demoDocs: NerDocument[] = [];
    if (!inf.zeroShot && demos) {
      const k = config.retrieval.k;
      let querySpans: Span[] = [];
      if (stages.retrieval === 'span-level' && k > 0) {
        querySpans = (await preExtract(text, inf.backbones, inf.labels, failures)).spans;
        trace.preSpans = shift(querySpans, chunk.start);
      }
      demoDocs = await demos.select(text, querySpans, { mode: stages.retrieval, k });
      trace.demos = demoDocs.map((d) => d.id);
    }
    const ctx: PromptContext = {
      labels: inf.labels,
      descriptions: config.labelDescriptions,
      demos: demoDocs,
    };
    const extractors = stages.extraction === 'single' ? [inf.singleModel] : inf.backbones;
    const voterOrder = inf.backbones.includes(inf.singleModel)
      ? [...inf.backbones]
      : [...inf.backbones, inf.singleModel];
    // The SLM's typed spans in this chunk (chunk offsets), when it takes part.
    let slmTypes: Map<string, string> | undefined;
    if (slm) {
      voterOrder.push(slm.name);
      slmTypes = new Map();
      try {
        const pred = await slm.predict({ id: `${docIndex}:${chunk.start}`, text });
        for (const e of [...pred.entities].sort(compareEntities)) {
          const t = typeOf(e.type);
          const key = `${e.start}:${e.end}`;
          if (
            t !== undefined &&
            t !== NONE_TYPE &&
            !slmTypes.has(key) &&
            text.slice(e.start, e.end) === e.text
          )
            slmTypes.set(key, t);
        }
      } catch (e) {
        slmTypes = undefined;
        const key = `${slm.name}\u0000slm`;
        const f = failures.get(key) ?? { model: slm.name, stage: 'slm', count: 0, lastError: '' };
        f.count++;
        f.lastError = describeError(e);
        failures.set(key, f);
      }
    }
    const slmSpans = (): Span[] =>
      [...(slmTypes?.keys() ?? [])].map((k) => {
        const [a, b] = k.split(':').map(Number);
        return { start: a, end: b, text: text.slice(a, b) };
      });

    const votesBySpan = new Map<string, Vote[]>();
    let union: Span[] = [];
    const proposersBy = new Map<string, string[]>();

    if (stages.decomposition) {
      // 2. Span extraction, union over the extractors.
      const prompt = extractPrompt(ctx, text);
      const answers = await Promise.all(extractors.map((m) => call(m, 'extract', prompt, failures)));
      const perModel: Array<{ model: string; spans: Span[] }> = [];
      answers.forEach((a, i) => {
        if (!a) return;
        const g = groundMentions(text, parseSpanAnswer(answerJson(a)).mentions);
        trace.hallucinated += g.hallucinated;
        trace.ambiguous += g.ambiguous;
        perModel.push({ model: extractors[i], spans: g.spans });
      });
      if (slm && slmTypes && stages.extraction === 'union')
        perModel.push({ model: slm.name, spans: slmSpans() });
      const u = unionSpans(perModel);
      for (const s of u) proposersBy.set(`${s.start}:${s.end}`, s.proposers);
      union = u.map(({ start, end, text: t }) => ({ start, end, text: t }));
      for (const p of perModel) trace.perModel[p.model] = p.spans;
      // 3. Span classification: every classifier types all union spans in one call.
      if (union.length > 0) {
        const classifiers = stages.classification === 'single' ? [inf.singleModel] : inf.backbones;
        const cprompt = classifyPrompt(ctx, text, union);
        const typed = await Promise.all(classifiers.map((m) => call(m, 'classify', cprompt, failures)));
        typed.forEach((a, i) => {
          if (!a) return;
          const byId = parseTypeAnswer(
            answerJson(a),
            union.map((s) => s.text),
          );
          union.forEach((s, j) => {
            const raw = byId.get(j + 1);
            if (raw === undefined) {
              trace.missingAnswers++;
              return;
            }
            const t = typeOf(raw);
            if (t === undefined) {
              trace.invalidTypes++;
              return;
            }
            const key = `${s.start}:${s.end}`;
            votesBySpan.set(key, [...(votesBySpan.get(key) ?? []), { voter: classifiers[i], type: t }]);
          });
        });
        if (slm && slmTypes && stages.classification !== 'single')
          for (const s of union) {
            const key = `${s.start}:${s.end}`;
            const vote = { voter: slm.name, type: slmTypes.get(key) ?? NONE_TYPE };
            votesBySpan.set(key, [...(votesBySpan.get(key) ?? []), vote]);
          }
      }
    } else {
      // Decomposition off: one joint extract-and-type call per extractor; a model that answered
      // votes its type for the spans it found and 'none' for the others.
      const prompt = jointPrompt(ctx, text);
      const answers = await Promise.all(extractors.map((m) => call(m, 'joint', prompt, failures)));
      const perModel: Array<{ model: string; spans: Span[]; types: Map<string, string> }> = [];
      answers.forEach((a, i) => {
        if (!a) return;
        const byType = new Map<string, SpanMention[]>();
        for (const m of parseJointAnswer(answerJson(a)).mentions) {
          const t = typeOf(m.type);
          if (t === undefined || t === NONE_TYPE) {
            if (t === undefined) trace.invalidTypes++;
            continue;
          }
          byType.set(t, [...(byType.get(t) ?? []), m]);
        }
        const types = new Map<string, string>();
        for (const t of inf.labels) {
          const ms = byType.get(t);
          if (!ms) continue;
          const g = groundMentions(text, ms);
          trace.hallucinated += g.hallucinated;
          trace.ambiguous += g.ambiguous;
          for (const s of g.spans) if (!types.has(`${s.start}:${s.end}`)) types.set(`${s.start}:${s.end}`, t);
        }
        const spans = [...types.keys()].map((k) => {
          const [s, e] = k.split(':').map(Number);
          return { start: s, end: e, text: text.slice(s, e) };
        });
        perModel.push({ model: extractors[i], spans, types });
      });
      if (slm && slmTypes && stages.extraction === 'union')
        perModel.push({ model: slm.name, spans: slmSpans(), types: slmTypes });
      const u = unionSpans(perModel);
      union = u.map(({ start, end, text: t }) => ({ start, end, text: t }));
      for (const s of u) {
        const key = `${s.start}:${s.end}`;
        proposersBy.set(key, s.proposers);
        votesBySpan.set(
          key,
          perModel.map((p) => ({ voter: p.model, type: p.types.get(key) ?? NONE_TYPE })),
        );
      }
      for (const p of perModel) trace.perModel[p.model] = p.spans;
    }
    trace.union = shift(union, chunk.start);

    // Hard (or weighted) vote per span.
    const voted: Entity[] = [];
    const voteStage = stages.decomposition ? 'classify' : 'joint';
    for (const s of union) {
      const key = `${s.start}:${s.end}`;
      const votes = votesBySpan.get(key) ?? [];
      const d = decideType(votes, { weight, voterOrder });
      if (d.type === undefined) continue;
      const sources: SourceVote[] = [
        ...(stages.decomposition
          ? (proposersBy.get(key) ?? []).map((m) => ({
              model: m,
              stage: m === slm?.name ? 'slm' : 'extract',
            }))
          : []),
        ...[...votes]
          .sort((a, b) => voterOrder.indexOf(a.voter) - voterOrder.indexOf(b.voter))
          .map((v) => ({ model: v.voter, stage: v.voter === slm?.name ? 'slm' : voteStage, type: v.type })),
      ];
      voted.push({ start: s.start, end: s.end, type: d.type, text: s.text, score: d.score, sources });
    }
    voted.sort(compareEntities);
    trace.voted = shift(voted, chunk.start);

    // 4. Type verification: one call listing every typed entity.
    let final = voted;
    if (stages.verification && voted.length > 0) {
      const vprompt = verifyPrompt(ctx, text, voted);
      const a = await call(inf.verifier, 'verify', vprompt, failures);
      if (a) {
        const verdicts = parseVerifyAnswer(answerJson(a), voted.length);
        final = [];
        voted.forEach((e, i) => {
          const ok = verdicts.get(i + 1);
          // No verdict for an entity: kept, and the source says so.
          const sources = [
            ...(e.sources ?? []),
            {
              model: inf.verifier,
              stage: 'verify',
              type: ok === false ? NONE_TYPE : ok ? e.type : 'unanswered',
            },
          ];
          if (ok !== false) final.push({ ...e, sources });
        });
      }
    }
    trace.final = shift(final, chunk.start);
    return trace;
  };

  const run = async (input: PipelineInput, opts: ExtractOptions = {}): Promise<RunResult> => {
    const inf = await ready();
    void inf;
    const t0 = Date.now();
    const docs = toDocs(input);
    const failures = new Map<string, ModelFailure>();
    const limit = pLimit(concurrency);
    const chunksOf = docs.map((d) => chunkText(d.text, config.maxChars));
    const results: NerDocument[] = new Array(docs.length);
    const traces: ChunkTrace[][] = docs.map(() => []);
    let nextToEmit = 0;
    const finished = new Array<boolean>(docs.length).fill(false);
    let emitting = Promise.resolve();
    const emit = () => {
      // Documents are handed to onDocument in input order, each as soon as all before it are done.
      emitting = emitting.then(async () => {
        while (nextToEmit < docs.length && finished[nextToEmit]) {
          const i = nextToEmit++;
          await opts.onDocument?.(results[i], i, traces[i]);
        }
      });
      return emitting;
    };
    await Promise.all(
      docs.map(async (doc, di) => {
        const chunkTraces = await Promise.all(
          chunksOf[di].map((c) => limit(() => processChunk(di, c, failures))),
        );
        traces[di] = chunkTraces;
        const entities = chunkTraces.flatMap((t) => t.final).sort(compareEntities);
        results[di] = { ...doc, entities };
        finished[di] = true;
        await emit();
      }),
    );
    await emitting;
    const failList = [...failures.values()].sort((a, b) =>
      a.model < b.model ? -1 : a.model > b.model ? 1 : a.stage < b.stage ? -1 : 1,
    );
    for (const f of failList)
      log(`model ${f.model} failed ${f.count} time(s) in stage ${f.stage}: ${f.lastError}`);
    return { docs: results, traces: traces.flat(), failures: failList, seconds: (Date.now() - t0) / 1000 };
  };

  const ledger = () => engineSet?.ledger ?? ownLedger ?? new CostLedger();

  return {
    stages,
    ready,
    run,
    async extract(input, opts) {
      return (await run(input, opts)).docs;
    },
    async evaluate(gold, opts = {}) {
      const goldDocs = opts.limit !== undefined ? gold.slice(0, opts.limit) : [...gold];
      const before = ledger().summary();
      const result = await run(goldDocs);
      const inf = await ready();
      return buildReport(goldDocs, result, {
        info: inf,
        stages,
        costBefore: before,
        costAfter: ledger().summary(),
      });
    },
    cost: () => ledger().summary(),
    formatCost: () => ledger().format(),
    async close() {
      if (closed) return;
      closed = true;
      if (init) await init.catch(() => undefined);
      // Engines passed in by the caller are the caller's to close.
      if (engineSet && !options.engines) await engineSet.close?.();
    },
  };
}

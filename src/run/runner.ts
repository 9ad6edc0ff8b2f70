/**
 * Picks what `el4ner run`, `serve` and queue workers execute for a config:
 * - no models, a CRF model (`fusion.slm`): the supervised tagger alone, and it says so;
 * - `fusion.llm` set and `fusion.voter` not true: the SLM+LLM confidence fusion (src/fusion);
 * - otherwise, models configured: the EL4NER pipeline (with the CRF as one more voter when `fusion.voter`).
 *
 * SLM fallback: when models are configured but none of them answers for a document (every
 * extractor call of every chunk failed; for fusion, the LLM call failed), the document is tagged
 * by the CRF alone if `fusion.slm` is set, marked `meta.fallback: 'slm'`, and the count is logged.
 * Without a CRF such a document fails with a NoAnswerError: never a silently empty answer.
 */
import type { Config, SlmSpec } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { NerDocument } from '../core/types.js';
import type { CostSummary } from '../engines/cost.js';
import { CostLedger } from '../engines/cost.js';
import type { EngineSet } from '../engines/registry.js';
import type { Engine } from '../engines/types.js';
import type { DemonstrationSource, Fusion, LambdaSearchResult } from '../fusion/index.js';
import type { StageOverrides } from '../pipeline/stages.js';
import type { DemonstrationRetriever } from '../retrieval/retriever.js';
import { type Slm, slmDescription, slmPath } from '../slm/load.js';

/** Documents the SLM alone tags at once. */
const SLM_BLOCK = 64;

export interface RunnerFailure {
  model: string;
  stage: string;
  count: number;
  lastError: string;
}

export interface Runner {
  readonly kind: 'el4ner' | 'fusion' | 'slm';
  /**
   * Names of the models whose failure makes a document fail: empty for the SLM alone, and empty
   * whenever a CRF (`fusion.slm`) stands in for documents no model answered.
   */
  readonly models: string[];
  /** Tags documents; `onDocument` is called once per finished document, in input order. */
  extract(
    docs: NerDocument[],
    opts?: { onDocument?: (doc: NerDocument) => void | Promise<void> },
  ): Promise<NerDocument[]>;
  /** Like extract, with the model failures that happened on the way. */
  run(docs: NerDocument[]): Promise<{ docs: NerDocument[]; failures: RunnerFailure[] }>;
  cost(): CostSummary;
  formatCost(): string;
  close(): Promise<void>;
}

export interface RunnerOptions {
  noCache?: boolean;
  cachePath?: string;
  log?: (message: string) => void;
  concurrency?: number;
  stages?: StageOverrides;
}

/** No configured model answered for a document and there is no CRF to stand in (HTTP 503 in the server). */
export class NoAnswerError extends Error {
  readonly statusCode = 503;
  constructor(
    message: string,
    readonly documentId: string,
    readonly failures: RunnerFailure[] = [],
  ) {
    super(message);
    this.name = 'NoAnswerError';
  }
}

type Tagger = Slm;

/** The output document: id, text, entities and the input's meta (gold entities and tags never leak through). */
function outputDoc(
  input: NerDocument,
  entities: NerDocument['entities'],
  meta?: Record<string, unknown>,
): NerDocument {
  const m = input.meta || meta ? { ...(input.meta ?? {}), ...(meta ?? {}) } : undefined;
  return { id: input.id, text: input.text, entities, ...(m ? { meta: m } : {}) };
}

async function slmDoc(
  tagger: Tagger,
  input: NerDocument,
  meta?: Record<string, unknown>,
): Promise<NerDocument> {
  const p = await tagger.predict({
    id: input.id,
    text: input.text,
    ...(input.tokens?.length ? { tokens: input.tokens } : {}),
  });
  return outputDoc(input, p.entities, meta);
}

function fallbackNotice(n: number, total: number, why: string, slm = 'CRF'): string {
  return `${n} of ${total} document(s) tagged by the supervised ${slm} alone (meta.fallback "slm"): ${why}`;
}

/**
 * Runs `fn` over `items` with at most `concurrency` in flight; results keep the input order and
 * `onResult` sees them in input order, each as soon as every earlier one is done.
 */
async function orderedPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, i: number) => Promise<R>,
  onResult?: (r: R, i: number) => void | Promise<void>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  const done = new Array<boolean>(items.length).fill(false);
  let next = 0;
  let emitted = 0;
  let emitting: Promise<void> = Promise.resolve();
  const emit = () => {
    emitting = emitting.then(async () => {
      while (emitted < items.length && done[emitted]) {
        const i = emitted++;
        await onResult?.(out[i], i);
      }
    });
    return emitting;
  };
  let failed = false;
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        failed = true;
        throw e;
      }
      done[i] = true;
      await emit();
    }
  });
  await Promise.all(workers);
  await emitting;
  return out;
}

async function loadTagger(spec: SlmSpec): Promise<Tagger> {
  const { loadSlm } = await import('../slm/load.js');
  return loadSlm(spec);
}

export async function createRunner(config: Config, opts: RunnerOptions = {}): Promise<Runner> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`el4ner: ${m}\n`));
  if (config.models.length === 0) return slmRunner(config, log);
  if (config.fusion?.llm && !config.fusion.voter) return fusionRunner(config, opts, log);
  return el4nerRunner(config, opts, log);
}

async function slmRunner(config: Config, log: (m: string) => void): Promise<Runner> {
  if (!config.fusion?.slm) {
    throw new ConfigError(
      'no models and no SLM: configure `models` (LLMs) or `fusion.slm` (a CRF model from el4ner train-slm)',
    );
  }
  const tagger = await loadTagger(config.fusion.slm);
  log(`no LLM configured: tagging with the supervised ${tagger.description} alone (${tagger.path})`);
  const ledger = new CostLedger();
  const extract: Runner['extract'] = async (docs, o) => {
    const out: NerDocument[] = [];
    // Documents of a block are tagged together (a transformer SLM batches them).
    for (let i = 0; i < docs.length; i += SLM_BLOCK) {
      for (const doc of await Promise.all(docs.slice(i, i + SLM_BLOCK).map((d) => slmDoc(tagger, d)))) {
        out.push(doc);
        await o?.onDocument?.(doc);
      }
    }
    return out;
  };
  return {
    kind: 'slm',
    models: [],
    extract,
    run: async (docs) => ({ docs: await extract(docs), failures: [] }),
    cost: () => ledger.summary(),
    formatCost: () => ledger.format(),
    close: () => tagger.close(),
  };
}

async function el4nerRunner(config: Config, opts: RunnerOptions, log: (m: string) => void): Promise<Runner> {
  const { createPipeline } = await import('../pipeline/el4ner.js');
  const pipeline = createPipeline({
    config,
    noCache: opts.noCache,
    cachePath: opts.cachePath,
    log,
    concurrency: opts.concurrency,
    stages: opts.stages,
  });
  let info: Awaited<ReturnType<typeof pipeline.ready>>;
  let tagger: Tagger | undefined;
  try {
    info = await pipeline.ready();
    if (config.fusion?.slm) tagger = await loadTagger(config.fusion.slm);
  } catch (e) {
    await pipeline.close();
    throw e;
  }
  const llms = new Set([...info.backbones, info.singleModel]);
  const models = [...new Set([...info.backbones, ...(pipeline.stages.verification ? [info.verifier] : [])])];

  const run = async (docs: NerDocument[], onDocument?: (doc: NerDocument) => void | Promise<void>) => {
    const out: NerDocument[] = new Array(docs.length);
    let fallbacks = 0;
    const r = await pipeline.run(docs, {
      onDocument: async (doc, i, traces) => {
        // Nobody answered when, in every chunk of a non-empty document, no LLM extractor returned anything.
        const unanswered =
          traces.length > 0 && traces.every((t) => !Object.keys(t.perModel).some((m) => llms.has(m)));
        let d: NerDocument = doc;
        if (unanswered) {
          if (!tagger) {
            throw new NoAnswerError(
              `no engine answered for document "${docs[i].id}": every configured model failed (${models.join(', ')}); set fusion.slm to fall back to a CRF`,
              docs[i].id,
            );
          }
          fallbacks++;
          d = await slmDoc(tagger, docs[i], { fallback: 'slm' });
        }
        out[i] = d;
        await onDocument?.(d);
      },
    });
    if (fallbacks > 0)
      log(fallbackNotice(fallbacks, docs.length, 'no LLM answered for them', tagger?.description));
    return { docs: out, failures: r.failures as RunnerFailure[] };
  };

  return {
    kind: 'el4ner',
    // With a CRF standing in, no model failure makes a document fail.
    models: tagger ? [] : models,
    extract: async (docs, o) => (await run(docs, o?.onDocument)).docs,
    run: (docs) => run(docs),
    cost: () => pipeline.cost(),
    formatCost: () => pipeline.formatCost(),
    close: () => pipeline.close(),
  };
}

export interface FusionSetup {
  fusion: Fusion;
  engines: EngineSet;
  /** The model name of the fusion LLM. */
  llm: string;
  close(): Promise<void>;
}

/** Demonstrations for the inline prompt from `config.pool` (gold pool spans, queried with the SLM's entities). */
async function fusionDemonstrations(
  config: Config,
  engines: ReadonlyMap<string, Engine>,
  opts: RunnerOptions,
): Promise<DemonstrationSource | undefined> {
  const { resolveStages } = await import('../pipeline/stages.js');
  const mode = resolveStages(config, opts.stages).retrieval;
  const k = config.retrieval.k;
  if (!config.pool || mode === 'none' || k === 0) return undefined;
  const { existsSync, statSync } = await import('node:fs');
  const { basename, dirname, join } = await import('node:path');
  const r = await import('../retrieval/public.js');
  const { demonstrationsFromRetriever } = await import('../fusion/demonstrations.js');
  const embedEngine = config.embedding ? engines.get(config.embedding.model) : undefined;
  const embedder = embedEngine ? new r.EngineEmbedder(embedEngine) : new r.LexicalEmbedder();
  const indexOpts = {
    embedder,
    spans: 'gold' as const,
    weights: config.retrieval.weights,
    posOf: config.retrieval.posOf,
  };
  const pool = config.pool;
  let retriever: DemonstrationRetriever;
  if (existsSync(pool) && statSync(pool).isDirectory())
    retriever = await r.DemonstrationRetriever.load(pool, embedder);
  else if (opts.noCache)
    retriever = await r.DemonstrationRetriever.build((await r.readPoolFile(pool)).docs, indexOpts);
  else {
    // Same folder as the EL4NER pipeline's index when it also uses gold spans, so both share it.
    const suffix = config.retrieval.poolSpans === 'gold' ? '' : '-gold';
    const dir = join(
      dirname(opts.cachePath ?? config.cache.path),
      `index-${basename(pool).replace(/[^A-Za-z0-9_.-]/g, '_')}${suffix}`,
    );
    retriever = (await r.DemonstrationRetriever.buildOrLoad({ poolFile: pool }, dir, indexOpts)).retriever;
  }
  return demonstrationsFromRetriever(retriever, { mode, k, seed: config.retrieval.seed });
}

/** Engines, demonstrations and the fusion tagger of `config.fusion` (lambda not tuned yet). */
export async function buildFusion(config: Config, opts: RunnerOptions = {}): Promise<FusionSetup> {
  const f = config.fusion;
  if (!f?.llm) throw new ConfigError('fusion.llm: no LLM named for fusion');
  const { createEngines } = await import('../engines/registry.js');
  const { fusionFromConfig } = await import('../fusion/from-config.js');
  const engines = await createEngines(config, { noCache: opts.noCache, cachePath: opts.cachePath });
  try {
    const retriever = await fusionDemonstrations(config, engines.engines, opts);
    const fusion = await fusionFromConfig(f, engines.engines, {
      retriever,
      ...(config.labels?.length ? { types: config.labels } : {}),
    });
    return { fusion, engines, llm: f.llm, close: () => engines.close() };
  } catch (e) {
    await engines.close();
    throw e;
  }
}

/** Reads the dev set for lambda 'auto': `dev` if given, else `fusion.dev`; a ConfigError naming the key when neither. */
export async function fusionDevDocs(config: Config, dev?: string): Promise<NerDocument[]> {
  const file = dev ?? config.fusion?.dev;
  if (!file) {
    throw new ConfigError(
      "fusion.lambda is 'auto' but fusion.dev is not set: give fusion.dev (gold-labelled documents to choose lambda on) or set fusion.lambda to a number",
    );
  }
  const { readDocuments } = await import('../formats/index.js');
  const docs = await readDocuments(file);
  if (docs.length === 0) throw new ConfigError(`fusion.dev: ${file} has no documents`);
  return docs;
}

export function describeLambdaSearch(s: LambdaSearchResult, devDocs: number): string {
  return `lambda ${s.lambda.toPrecision(4)} chosen on ${devDocs} dev document(s) (strict F1 ${(100 * s.f1).toFixed(2)}, ${s.curve.length} values tried)`;
}

async function fusionRunner(config: Config, opts: RunnerOptions, log: (m: string) => void): Promise<Runner> {
  const setup = await buildFusion(config, opts);
  const { fusion, engines, llm } = setup;
  const concurrency = opts.concurrency ?? config.concurrency;
  try {
    if (fusion.lambda === undefined) {
      const dev = await fusionDevDocs(config);
      const s = await fusion.tune(dev, { concurrency });
      log(describeLambdaSearch(s, dev.length));
    }
  } catch (e) {
    await setup.close();
    throw e;
  }

  const run = async (docs: NerDocument[], onDocument?: (doc: NerDocument) => void | Promise<void>) => {
    let fallbacks = 0;
    const failure: RunnerFailure = { model: llm, stage: 'fusion', count: 0, lastError: '' };
    const out = await orderedPool(
      docs,
      concurrency,
      async (d) => {
        const input: NerDocument = {
          id: d.id,
          text: d.text,
          entities: [],
          ...(d.tokens ? { tokens: d.tokens } : {}),
        };
        const { doc, stats } = await fusion.tagDocument(input);
        if (stats.fallback === 'llm-error') {
          // fusion already returned the SLM's entities alone
          fallbacks++;
          failure.count++;
          failure.lastError = stats.error ?? 'unknown error';
          return outputDoc(d, doc.entities, { fallback: 'slm' });
        }
        return outputDoc(d, doc.entities);
      },
      onDocument,
    );
    if (failure.count > 0)
      log(`model ${llm} failed ${failure.count} time(s) in stage fusion: ${failure.lastError}`);
    if (fallbacks > 0)
      log(
        fallbackNotice(
          fallbacks,
          docs.length,
          `the fusion LLM ${llm} did not answer`,
          slmDescription(config.fusion!.slm),
        ),
      );
    return { docs: out, failures: failure.count > 0 ? [failure] : [] };
  };

  log(
    `fusion: ${slmDescription(config.fusion!.slm)} ${slmPath(config.fusion!.slm)} + LLM ${llm}, lambda ${fusion.lambda}, ${fusion.probability} probability`,
  );
  return {
    kind: 'fusion',
    // The CRF answers whenever the LLM does not, so no model failure makes a document fail.
    models: [],
    extract: async (docs, o) => (await run(docs, o?.onDocument)).docs,
    run: (docs) => run(docs),
    cost: () => engines.ledger.summary(),
    formatCost: () => engines.ledger.format(),
    close: () => setup.close(),
  };
}

/**
 * The demonstration source of a config, shared by every method: the pool (`pool`: a labelled file,
 * or an index folder written by `el4ner index`) indexed once. A pool file is indexed into a folder
 * beside the response cache (reused while pool and settings are unchanged), or in memory with
 * `--no-cache`; documents handed in (tests, tune) are indexed in memory.
 */
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Config } from '../config/schema.js';
import { ConfigError, InputError } from '../core/errors.js';
import type { FailureLog } from '../core/failures.js';
import type { NerDocument } from '../core/types.js';
import { createLlmPreExtractor, type LlmPreExtractor } from '../el4ner/stages/retrieve.js';
import type { Engine } from '../engines/types.js';
import { readDocuments } from '../formats/index.js';
import { resolveWeights } from '../pos/weights.js';
import { type DemoSource, demoSourceFromRetriever, staticDemoSource } from '../retrieval/demo-source.js';
import { EngineEmbedder, LexicalEmbedder, type SpanEmbedder } from '../retrieval/embedders.js';
import type { IndexOptions, PreExtract } from '../retrieval/index.js';
import { buildOrLoadIndex, checkIndexFolder, type PoolIndex } from '../retrieval/index.js';
import { readPoolFile } from '../retrieval/pool-reader.js';
import { DemonstrationRetriever } from '../retrieval/retriever.js';
import { assembleEngines, backbonesOf, requireEngine } from './engines.js';

export interface DemoOptions {
  /** Pool documents to index in memory instead of `config.pool`. */
  docs?: readonly NerDocument[];
  noCache?: boolean;
  cachePath?: string;
  embedEngine?: Engine;
  /** Zero-shot pre-extraction of pool spans (`retrieval.poolSpans: llm`) and its identity. */
  preExtract?: PreExtract;
  preExtractIdentity?: string;
  log?: (message: string) => void;
}

/** The folder a pool file is indexed into: beside the response cache, one per span mode. */
export function indexFolder(config: Config, pool: string, cachePath?: string): string {
  const name = basename(pool).replace(/[^A-Za-z0-9_.-]/g, '_');
  const spans = config.retrieval.poolSpans === 'llm' ? '-llm' : '';
  return join(dirname(cachePath ?? config.cache.path), `index-${name}${spans}`);
}

export const isFolder = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** The `pool` file of a config: checked UTF-8 (no --encoding applies to it: converting it is the way). */
export const readConfigPool = (pool: string) =>
  readPoolFile(pool, {
    remedy: `if the file is in another encoding, convert it to UTF-8 (el4ner convert --encoding latin1 ${pool} pool-utf8.jsonl) and set pool to that file`,
  });

/** The embedder of a config: its embedding model, else the offline lexical character n-gram embedder. */
export function embedderFor(embedEngine?: Engine, lexical: { dim?: number } = {}): SpanEmbedder {
  return embedEngine ? new EngineEmbedder(embedEngine) : new LexicalEmbedder(lexical);
}

/** How a config's pool is indexed (the same for `el4ner index` and every method). */
export function indexOptionsFor(
  config: Config,
  embedder: SpanEmbedder,
  preExtract?: { fn: PreExtract; identity: string },
): IndexOptions {
  return {
    embedder,
    spans: config.retrieval.poolSpans,
    preExtract: preExtract?.fn,
    preExtractIdentity: preExtract?.identity,
    weights: config.retrieval.weights,
    posOf: config.retrieval.posOf,
    ...(config.retrieval.index
      ? {
          precision: config.retrieval.index.precision,
          approximate: config.retrieval.index.approximate,
          sentenceVectors: config.retrieval.index.sentenceVectors,
        }
      : {}),
  };
}

/**
 * Zero-shot pre-extraction of pool spans by the backbones (`retrieval.poolSpans: llm`), with the
 * labels of the config, else of the pool.
 */
export async function poolPreExtractor(
  config: Config,
  engines: ReadonlyMap<string, Engine>,
  pool: readonly NerDocument[] | string | undefined,
): Promise<LlmPreExtractor> {
  const backbones = backbonesOf(config, engines.keys()).map((b) => requireEngine(engines, b, 'backbones'));
  let labels = config.labels?.length ? [...config.labels] : [];
  if (labels.length === 0 && Array.isArray(pool)) labels = poolLabels(pool);
  else if (labels.length === 0 && typeof pool === 'string' && !isFolder(pool))
    labels = poolLabels(await readConfigPool(pool));
  return createLlmPreExtractor(
    backbones,
    labels,
    config.labelDescriptions,
    new Map(config.models.map((m) => [m.name, m.maxTokens])),
  );
}

export async function demoSourceFor(config: Config, opts: DemoOptions): Promise<DemoSource> {
  const embedder = embedderFor(opts.embedEngine);
  const indexOpts = indexOptionsFor(
    config,
    embedder,
    opts.preExtract ? { fn: opts.preExtract, identity: opts.preExtractIdentity ?? 'unnamed' } : undefined,
  );
  let retriever: DemonstrationRetriever;
  if (opts.docs) retriever = await DemonstrationRetriever.build(opts.docs, indexOpts);
  else if (!config.pool) return staticDemoSource([]);
  else if (isFolder(config.pool)) {
    retriever = await DemonstrationRetriever.load(config.pool, embedder);
    noteIndexSettings(config, config.pool, retriever, opts.log);
  } else if (opts.noCache)
    retriever = await DemonstrationRetriever.build(await readConfigPool(config.pool), indexOpts);
  else
    retriever = (
      await DemonstrationRetriever.buildOrLoad(
        { poolFile: config.pool },
        indexFolder(config, config.pool, opts.cachePath),
        indexOpts,
        readConfigPool,
      )
    ).retriever;
  // Query-time settings: the configured ones, else those the index was built with.
  return demoSourceFromRetriever(retriever, {
    seed: config.retrieval.seed,
    ...(config.retrieval.weights !== undefined ? { weights: config.retrieval.weights } : {}),
    ...(config.retrieval.posOf !== undefined ? { posOf: config.retrieval.posOf } : {}),
  });
}

/**
 * An index folder given as `pool` was built with its own settings. POS weights and `posOf` act
 * at query time, so configured ones are used and the difference is said; pool spans are baked
 * into the index, so a different `poolSpans` is refused.
 */
function noteIndexSettings(
  config: Config,
  dir: string,
  retriever: DemonstrationRetriever,
  log?: (m: string) => void,
) {
  const built = retriever.index.manifest.settings;
  if (built.spans !== config.retrieval.poolSpans && config.retrieval.poolSpans === 'llm')
    throw new ConfigError(
      `pool: the index folder ${dir} holds ${built.spans} pool spans, but retrieval.poolSpans is llm: rebuild it with \`el4ner index --spans llm\``,
    );
  const w = config.retrieval.weights;
  if (w !== undefined) {
    const want = resolveWeights(w);
    const have = built.weights;
    if (
      want.PROPN !== have.PROPN ||
      want.NOUN !== have.NOUN ||
      want.PRON !== have.PRON ||
      want.other !== have.other
    )
      log?.(
        `pool ${dir}: index built with POS weights PROPN=${have.PROPN} NOUN=${have.NOUN} PRON=${have.PRON}; querying with the configured retrieval.weights PROPN=${want.PROPN} NOUN=${want.NOUN} PRON=${want.PRON}`,
      );
  }
  const p = config.retrieval.posOf;
  if (p !== undefined && p !== built.posOf)
    log?.(
      `pool ${dir}: index built with posOf ${built.posOf}; querying with the configured retrieval.posOf ${p}`,
    );
}

/** Labels of a pool: every entity type in it, sorted. */
export function poolLabels(docs: readonly NerDocument[]): string[] {
  return [...new Set(docs.flatMap((d) => d.entities.map((e) => e.type)))].sort();
}

/**
 * A demonstration source whose selections are remembered by (mode, k, text, query spans): the
 * same sentences asked again (tune's candidates, ablate's rows) cost no second SpanSim search.
 */
export function memoizedDemoSource(source: DemoSource): DemoSource {
  const memo = new Map<string, Promise<NerDocument[]>>();
  return {
    size: source.size,
    docs: () => source.docs(),
    select(text, spans, query) {
      const key = JSON.stringify([query.mode, query.k, text, spans.map((s) => [s.start, s.end, s.text])]);
      let hit = memo.get(key);
      if (!hit) {
        hit = source.select(text, spans, query);
        memo.set(key, hit);
        hit.catch(() => memo.delete(key));
      }
      return hit;
    },
  };
}

export interface PoolIndexRequest {
  /** The labelled pool file. */
  pool: string;
  /** The index folder to write. */
  out: string;
  /** Dimension of the lexical embedder (no embedding model). */
  dim?: number;
  /** Rebuild even when the folder is up to date. */
  force?: boolean;
  /** Encoding of the pool file (`el4ner index --encoding`; default UTF-8, checked). */
  encoding?: string;
  onProgress?: IndexOptions['onProgress'];
}

export interface PoolIndexResult {
  index: PoolIndex;
  rebuilt: boolean;
  reason?: string;
  /** The embedding model, or 'lexical'. */
  embedder: string;
  /** Pre-extraction calls that failed (`retrieval.poolSpans: llm`). */
  preExtractFailures?: FailureLog;
}

/**
 * A pool with nothing to show as a demonstration is a mistake (the wrong file, an export that
 * failed): an index of it would make every run silently zero-shot.
 */
function checkPoolDocs(docs: NerDocument[], file: string, spans: 'gold' | 'llm'): NerDocument[] {
  if (!docs.some((d) => d.text.trim().length > 0))
    throw new InputError('no sentences to index (the pool is empty or every text is blank)', file);
  if (spans === 'gold' && !docs.some((d) => d.entities.length > 0))
    throw new InputError(
      'no entities in the pool: demonstrations show gold entities, so the pool must be labelled',
      file,
    );
  return docs;
}

/**
 * `el4ner index`: the pool of a config indexed into a folder with the settings every method uses
 * (built engines only when the embedding model or LLM pre-extraction needs them).
 */
export async function buildPoolIndex(config: Config, req: PoolIndexRequest): Promise<PoolIndexResult> {
  const readPool = (p: string) =>
    readDocuments(p, req.encoding !== undefined ? { encoding: req.encoding } : {});
  const needEngines = config.embedding !== undefined || config.retrieval.poolSpans === 'llm';
  const engines = needEngines ? await assembleEngines(config, {}) : undefined;
  try {
    const embedEngine = config.embedding
      ? requireEngine(engines!.engines, config.embedding.model, 'embedding.model')
      : undefined;
    if (embedEngine && req.dim !== undefined)
      throw new ConfigError('--dim applies to the lexical embedder only');
    const pre =
      config.retrieval.poolSpans === 'llm'
        ? await poolPreExtractor(
            config,
            engines!.engines,
            config.labels?.length ? req.pool : await readPool(req.pool),
          )
        : undefined;
    const opts = indexOptionsFor(
      config,
      embedderFor(embedEngine, { dim: req.dim }),
      pre && { fn: pre, identity: pre.identity },
    );
    if (req.force) {
      await checkIndexFolder(req.out);
      await rm(join(req.out, 'manifest.json'), { force: true });
    }
    const r = await buildOrLoadIndex(
      { poolFile: req.pool, encoding: req.encoding },
      req.out,
      { ...opts, onProgress: req.onProgress },
      async (p) => checkPoolDocs(await readPool(p), p, config.retrieval.poolSpans),
      { lazySentences: true },
    );
    return {
      index: r.index,
      rebuilt: r.rebuilt,
      reason: r.reason,
      embedder: config.embedding?.model ?? 'lexical',
      ...(pre ? { preExtractFailures: pre.failures } : {}),
    };
  } finally {
    await engines?.close();
  }
}

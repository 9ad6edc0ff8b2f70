/**
 * The demonstration pool index. For every pool sentence: its candidate spans (gold entity spans
 * by default, or spans from an LLM zero-shot pre-extraction callback), their POS, and unit
 * embeddings. Each distinct span text is embedded once: its vector is one row of the span store
 * (vectors.ts: posting lists for the lexical embedder's sparse vectors, a float32 or int8 matrix
 * for embedding models), and every pool span points at its row (`spanVector`) and its sentence
 * (`spanSentence`). Whole-sentence vectors (the sentence-embedding ablation and the fallback for
 * queries without spans) are a second store. Sentences without spans stay in the pool.
 *
 * On disk (format version 2, see index-files.ts for the folder protocol): `manifest.json` (counts,
 * settings, SHA-256 of the pool content and of the settings, the store layouts, the data folder)
 * and `data-<generation>/` with the stores, `span-vector.i32`, `span-sentence.i32`,
 * `span-meta.i32` (start, end, POS code per span) and `docs.jsonl`. Version-1 folders (one dense
 * float32 matrix) are rebuilt by `buildOrLoadIndex` and refused with a clear message by
 * `loadIndex`.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { endianness } from 'node:os';
import { extname, join } from 'node:path';
import { ConfigError, InputError } from '../core/errors.js';
import type { NerDocument, Span } from '../core/types.js';
import { checkEncoding } from '../formats/decode.js';
import { documentFiles } from '../formats/index.js';
import type { PosOf } from '../pos/span-pos.js';
import { spansPos } from '../pos/span-pos.js';
import { loadPosTagger } from '../pos/tagger.js';
import { type PosToken, uposCode } from '../pos/upos.js';
import { type PosWeights, resolveWeights, type WeightPresetName } from '../pos/weights.js';
import { ANN_DEFAULTS, type AnnOptions, ApproximateSpanSim } from './ann.js';
import type { SpanEmbedder } from './embedders.js';
import {
  isMissingFile,
  publishGeneration,
  readJsonLines,
  readTyped,
  V1_FILES,
  writeJsonLines,
  writeTyped,
} from './index-files.js';
import type { SpanTable } from './span-sim.js';
import {
  type DensePrecision,
  dequantizeRows,
  StoreBuilder,
  storeBytes,
  type VectorStore,
} from './vectors.js';

export const INDEX_FORMAT_VERSION = 2;

export type SpansMode = 'gold' | 'llm';

export type PreExtract = (text: string, doc: NerDocument) => Promise<Span[]> | Span[];

export interface IndexOptions {
  embedder: SpanEmbedder;
  spans?: SpansMode;
  /** Zero-shot span pre-extraction for `spans: 'llm'` (the pipeline plugs the LLM ensemble in). */
  preExtract?: PreExtract;
  /** Identity of the pre-extraction (models, prompt version): part of the settings hash. */
  preExtractIdentity?: string;
  weights?: WeightPresetName | PosWeights;
  posOf?: PosOf;
  /**
   * How dense vectors (embedding models) are stored: 'f32' (default, exact) or 'int8' (one
   * scale per row, 4x smaller, scores within about 1% of float32). Sparse vectors stay float32.
   */
  precision?: DensePrecision;
  /** Keep whole-sentence vectors (default true): the sentence-embedding mode and the fallback
   * for queries without spans need them; a very large pool may skip them to save memory. */
  sentenceVectors?: boolean;
  /**
   * Also build an approximate index (HNSW, optional package usearch) over dense span vectors;
   * span-level retrieval then uses it unless a query asks for `exact: true`.
   */
  approximate?: AnnOptions | boolean;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface IndexSettings {
  embedder: string;
  spans: SpansMode;
  preExtract?: string;
  weights: PosWeights;
  posOf: PosOf;
  precision: DensePrecision;
  sentenceVectors: boolean;
  approximate?: Required<AnnOptions>;
}

export type StoreInfo =
  | { kind: 'sparse'; rows: number; dim: number; nnz: number; nonNegative: boolean }
  | { kind: 'dense'; rows: number; dim: number; precision: DensePrecision };

export interface IndexManifest {
  format: 'el4ner-retrieval-index';
  version: typeof INDEX_FORMAT_VERSION;
  createdAt: string;
  poolHash: string;
  settingsHash: string;
  settings: IndexSettings;
  dim: number;
  sentences: number;
  /** Pool spans. */
  spans: number;
  /** Distinct span vectors (rows of the span store). */
  spanRows: number;
  endianness: 'LE' | 'BE';
  /** The data folder inside the index folder ('' until saved). */
  data: string;
  stores: { spans: StoreInfo; sentences?: StoreInfo };
}

export interface PoolIndex {
  manifest: IndexManifest;
  docs: NerDocument[];
  dim: number;
  /** Distinct span vectors, one row per distinct span text. */
  spanVectors: VectorStore;
  /** pool span -> row of `spanVectors`. */
  spanVector: Int32Array;
  /** pool span -> pool sentence index (non-decreasing). */
  spanSentence: Int32Array;
  /** start, end, POS code for each span (3 per span). */
  spanMeta: Int32Array;
  /**
   * One row per pool sentence. Undefined when loaded with `lazySentences` until
   * `ensureSentenceVectors` reads it, or when built with `sentenceVectors: false`.
   */
  sentenceVectors?: VectorStore;
  /** The approximate index (dense span vectors, when built with `approximate`). */
  ann?: ApproximateSpanSim;
  /** The folder the index was loaded from or saved to. */
  dir?: string;
}

/** Files of a data folder (the stores add theirs: spans.*, sentences.*). */
export const INDEX_FILES = {
  manifest: 'manifest.json',
  spanVector: 'span-vector.i32',
  spanSentence: 'span-sentence.i32',
  spanMeta: 'span-meta.i32',
  docs: 'docs.jsonl',
  ann: 'spans.usearch',
} as const;

export function sha256(s: string | Buffer): string {
  return createHash('sha256').update(s).digest('hex');
}

export function resolveSettings(opts: IndexOptions): IndexSettings {
  const spans = opts.spans ?? 'gold';
  const s: IndexSettings = {
    embedder: opts.embedder.identity,
    spans,
    weights: resolveWeights(opts.weights),
    posOf: opts.posOf ?? 'first',
    precision: opts.precision ?? 'f32',
    sentenceVectors: opts.sentenceVectors ?? true,
  };
  if (opts.approximate)
    s.approximate = { ...ANN_DEFAULTS, ...(opts.approximate === true ? {} : opts.approximate) };
  if (spans === 'llm') s.preExtract = opts.preExtractIdentity ?? 'unnamed';
  return s;
}

export function settingsHash(s: IndexSettings): string {
  const w = s.weights;
  return sha256(
    JSON.stringify([
      s.embedder,
      s.spans,
      s.preExtract ?? null,
      [w.PROPN, w.NOUN, w.PRON, w.other],
      s.posOf,
      s.precision,
      s.sentenceVectors,
      s.approximate ?? null,
    ]),
  );
}

/** Hash of the pool when it is given as documents instead of a file. */
export function docsHash(docs: readonly NerDocument[]): string {
  const h = createHash('sha256');
  for (const d of docs) {
    h.update(JSON.stringify([d.id, d.text, d.entities.map((e) => [e.start, e.end, e.type])]));
    h.update('\n');
  }
  return h.digest('hex');
}

function dedupeSpans(text: string, spans: readonly { start: number; end: number }[]): Span[] {
  const seen = new Set<string>();
  const out: Span[] = [];
  for (const s of spans) {
    if (!(Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.end > s.start)) continue;
    if (s.end > text.length) continue;
    const key = `${s.start}:${s.end}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ start: s.start, end: s.end, text: text.slice(s.start, s.end) });
  }
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

async function collectSpans(doc: NerDocument, opts: IndexOptions, mode: SpansMode): Promise<Span[]> {
  if (mode === 'gold') return dedupeSpans(doc.text, doc.entities);
  if (!opts.preExtract) throw new Error("spans mode 'llm' needs a preExtract callback");
  const got = await opts.preExtract(doc.text, doc);
  // Keep only spans whose offsets point at their text; relocate the ones given by text alone.
  const fixed: { start: number; end: number }[] = [];
  for (const s of got) {
    if (doc.text.slice(s.start, s.end) === s.text) fixed.push(s);
    else if (s.text) {
      const i = doc.text.indexOf(s.text);
      if (i >= 0) fixed.push({ start: i, end: i + s.text.length });
    }
  }
  return dedupeSpans(doc.text, fixed);
}

/** Embeds distinct texts in chunks straight into a store (no dense copy of the whole matrix). */
async function embedStore(
  embedder: SpanEmbedder,
  texts: readonly string[],
  precision: DensePrecision,
  onProgress?: (done: number, total: number) => void,
  dimIfEmpty = 0,
): Promise<VectorStore> {
  const builder = new StoreBuilder(precision);
  const CHUNK = 2048;
  for (let i = 0; i < texts.length; i += CHUNK) {
    const part = texts.slice(i, i + CHUNK);
    const vecs = await embedder.embed(part);
    if (vecs.length !== part.length)
      throw new Error(
        `embedder ${embedder.identity} returned ${vecs.length} vectors for ${part.length} texts`,
      );
    for (const v of vecs) builder.add(v);
    onProgress?.(Math.min(i + CHUNK, texts.length), texts.length);
  }
  return builder.finish(dimIfEmpty);
}

export async function buildIndex(
  docs: readonly NerDocument[],
  opts: IndexOptions,
  poolHash?: string,
): Promise<PoolIndex> {
  const settings = resolveSettings(opts);
  const tagger = await loadPosTagger();
  const tagCache = new Map<string, PosToken[]>();
  const tag = (t: string) => {
    let r = tagCache.get(t);
    if (!r) {
      r = tagger.tag(t);
      if (tagCache.size < 50_000) tagCache.set(t, r);
    }
    return r;
  };
  const rowOf = new Map<string, number>();
  const spanVector: number[] = [];
  const sentOf: number[] = [];
  const meta: number[] = [];
  for (let s = 0; s < docs.length; s++) {
    const doc = docs[s];
    const spans = await collectSpans(doc, opts, settings.spans);
    const pos = spansPos(tag, doc.text, spans, settings.posOf, { entity: true });
    for (let i = 0; i < spans.length; i++) {
      let row = rowOf.get(spans[i].text);
      if (row === undefined) {
        row = rowOf.size;
        rowOf.set(spans[i].text, row);
      }
      spanVector.push(row);
      sentOf.push(s);
      meta.push(spans[i].start, spans[i].end, uposCode(pos[i]));
    }
    // every sentence: with LLM pre-extraction one may take seconds (callers throttle what they show)
    opts.onProgress?.('spans', s + 1, docs.length);
  }
  const embedSpans = (dimIfEmpty = 0) =>
    embedStore(
      opts.embedder,
      [...rowOf.keys()],
      settings.precision,
      (d, t) => opts.onProgress?.('embed-spans', d, t),
      dimIfEmpty,
    );
  let spanStore = rowOf.size > 0 ? await embedSpans() : undefined;
  const sentStore = settings.sentenceVectors
    ? await embedStore(
        opts.embedder,
        docs.map((d) => d.text),
        settings.precision,
        (d, t) => opts.onProgress?.('embed-sentences', d, t),
      )
    : undefined;
  // A pool without spans still needs the embedder's dimension (queries are checked against it).
  spanStore ??= await embedSpans(sentStore?.dim || (await opts.embedder.embed(['x']))[0].length);
  if (spanStore.rows && sentStore?.rows && spanStore.dim !== sentStore.dim)
    throw new Error('span and sentence vectors differ in dimension');
  const dim = spanStore.dim;
  const manifest: IndexManifest = {
    format: 'el4ner-retrieval-index',
    version: INDEX_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    poolHash: poolHash ?? docsHash(docs),
    settingsHash: settingsHash(settings),
    settings,
    dim,
    sentences: docs.length,
    spans: sentOf.length,
    spanRows: spanStore.rows,
    endianness: endianness(),
    data: '',
    stores: { spans: storeInfo(spanStore), sentences: sentStore ? storeInfo(sentStore) : undefined },
  };
  const index: PoolIndex = {
    manifest,
    docs: [...docs],
    dim,
    spanVectors: spanStore,
    spanVector: Int32Array.from(spanVector),
    spanSentence: Int32Array.from(sentOf),
    spanMeta: Int32Array.from(meta),
    sentenceVectors: sentStore,
  };
  if (settings.approximate) {
    if (spanStore.kind !== 'dense')
      throw new ConfigError(
        `the approximate index is for dense vectors (retrieval.index.approximate, --approximate): set embedding.model; ${opts.embedder.identity} gives sparse ones, whose exact posting lists are faster`,
      );
    opts.onProgress?.('approximate-index', 0, spanStore.rows);
    index.ann = await ApproximateSpanSim.build(spanStore, spanTable(index), settings.approximate);
    opts.onProgress?.('approximate-index', spanStore.rows, spanStore.rows);
  }
  return index;
}

export function spanTable(index: PoolIndex): SpanTable {
  return {
    vectors: index.spanVectors,
    spanVector: index.spanVector,
    spanSentence: index.spanSentence,
    sentences: index.docs.length,
  };
}

function storeInfo(s: VectorStore): StoreInfo {
  return s.kind === 'sparse'
    ? { kind: 'sparse', rows: s.rows, dim: s.dim, nnz: s.rowIdx.length, nonNegative: s.nonNegative }
    : { kind: 'dense', rows: s.rows, dim: s.dim, precision: s.precision };
}

/** Bytes of the vectors and span tables in memory (documents not counted). */
export function indexBytes(index: PoolIndex): number {
  return (
    storeBytes(index.spanVectors) +
    (index.sentenceVectors ? storeBytes(index.sentenceVectors) : 0) +
    index.spanVector.byteLength +
    index.spanSentence.byteLength +
    index.spanMeta.byteLength
  );
}

function storeFiles(prefix: string, info: StoreInfo): Record<string, string> {
  if (info.kind === 'sparse')
    return { colPtr: `${prefix}.colptr.i32`, rowIdx: `${prefix}.rows.i32`, values: `${prefix}.values.f32` };
  return info.precision === 'int8'
    ? { codes: `${prefix}.i8`, scales: `${prefix}.scale.f32` }
    : { data: `${prefix}.f32` };
}

async function writeStore(dir: string, prefix: string, s: VectorStore): Promise<void> {
  const f = storeFiles(prefix, storeInfo(s));
  if (s.kind === 'sparse') {
    await writeTyped(join(dir, f.colPtr), s.colPtr);
    await writeTyped(join(dir, f.rowIdx), s.rowIdx);
    await writeTyped(join(dir, f.values), s.values);
  } else if (s.precision === 'int8') {
    if (!s.int8) throw new Error('int8 store without its codes');
    await writeTyped(join(dir, f.codes), s.int8.codes);
    await writeTyped(join(dir, f.scales), s.int8.scales);
  } else await writeTyped(join(dir, f.data), s.data);
}

async function readStore(dir: string, prefix: string, info: StoreInfo): Promise<VectorStore> {
  const f = storeFiles(prefix, info);
  const { rows, dim } = info;
  if (info.kind === 'sparse') {
    const [colPtr, rowIdx, values] = await Promise.all([
      readTyped(join(dir, f.colPtr), Int32Array, dim + 1),
      readTyped(join(dir, f.rowIdx), Int32Array, info.nnz),
      readTyped(join(dir, f.values), Float32Array, info.nnz),
    ]);
    if (colPtr[dim] !== info.nnz) throw new Error(`${join(dir, f.colPtr)}: does not end at ${info.nnz}`);
    return { kind: 'sparse', rows, dim, colPtr, rowIdx, values, nonNegative: info.nonNegative };
  }
  if (info.precision === 'int8') {
    const [codes, scales] = await Promise.all([
      readTyped(join(dir, f.codes), Int8Array, rows * dim),
      readTyped(join(dir, f.scales), Float32Array, rows),
    ]);
    return {
      kind: 'dense',
      rows,
      dim,
      precision: 'int8',
      data: dequantizeRows(codes, scales, dim),
      int8: { codes, scales },
    };
  }
  return {
    kind: 'dense',
    rows,
    dim,
    precision: 'f32',
    data: await readTyped(join(dir, f.data), Float32Array, rows * dim),
  };
}

/**
 * Writes the index into `dir` (a new data folder, then the manifest: a folder with a manifest is
 * a complete index). Safe against other processes saving into the same folder at the same time.
 */
export async function saveIndex(index: PoolIndex, dir: string): Promise<void> {
  const sentences = await ensureSentenceVectors(index);
  const data = await publishGeneration(
    dir,
    async (tmp) => {
      await writeStore(tmp, 'spans', index.spanVectors);
      if (sentences) await writeStore(tmp, 'sentences', sentences);
      await writeTyped(join(tmp, INDEX_FILES.spanVector), index.spanVector);
      await writeTyped(join(tmp, INDEX_FILES.spanSentence), index.spanSentence);
      await writeTyped(join(tmp, INDEX_FILES.spanMeta), index.spanMeta);
      index.ann?.save(join(tmp, INDEX_FILES.ann));
      // Token lists are left out: they are derivable from the text and would double the file.
      await writeJsonLines(
        join(tmp, INDEX_FILES.docs),
        index.docs.map(({ tokens: _t, ...d }) => d),
      );
    },
    (data) => `${JSON.stringify({ ...index.manifest, data }, null, 2)}\n`,
    INDEX_FILES.manifest,
  );
  index.manifest = { ...index.manifest, data };
  index.dir = dir;
}

export type ManifestState =
  | { state: 'none' }
  | { state: 'current'; manifest: IndexManifest }
  | { state: 'old'; version: unknown }
  | { state: 'foreign'; detail: string };

/** What `dir/manifest.json` holds: nothing, a current index, an older format, or something else. */
export async function inspectManifest(dir: string): Promise<ManifestState> {
  let raw: string;
  try {
    raw = await readFile(join(dir, INDEX_FILES.manifest), 'utf8');
  } catch {
    return { state: 'none' };
  }
  let m: Partial<IndexManifest> & { version?: unknown };
  try {
    m = JSON.parse(raw) as typeof m;
  } catch (err) {
    return { state: 'foreign', detail: `manifest.json is not JSON (${(err as Error).message})` };
  }
  if (m?.format !== 'el4ner-retrieval-index')
    return { state: 'foreign', detail: 'manifest.json of another format' };
  if (m.version !== INDEX_FORMAT_VERSION) return { state: 'old', version: m.version };
  return { state: 'current', manifest: m as IndexManifest };
}

/**
 * Refuses a folder where building an index would overwrite or remove what is not an index's own:
 * a manifest.json of another kind, or files named as the version-1 layout's (removed on
 * building) without that index's manifest. A new or empty folder, or an index of any version,
 * passes.
 */
export async function checkIndexFolder(dir: string): Promise<ManifestState> {
  const state = await inspectManifest(dir);
  const advice = 'give a new or empty folder';
  if (state.state === 'foreign')
    throw new InputError(
      `not an el4ner retrieval index (${state.detail}); building one here would overwrite its manifest.json: ${advice}`,
      dir,
    );
  if (state.state === 'none') {
    const names = await readdir(dir).catch(() => [] as string[]);
    const clash = names.filter((n) => V1_FILES.includes(n));
    if (clash.length)
      throw new InputError(
        `holds ${clash.join(', ')} but no el4ner retrieval index; building one here would remove ${clash.length > 1 ? 'them' : 'it'}: ${advice}`,
        dir,
      );
  }
  return state;
}

/** The manifest of a current-format index in `dir`, or undefined (none, old format, foreign). */
export async function readManifest(dir: string): Promise<IndexManifest | undefined> {
  const s = await inspectManifest(dir);
  return s.state === 'current' ? s.manifest : undefined;
}

/**
 * Reads the sentence store when the index was loaded without it. When another process has
 * replaced the index since (its data folder is gone), the current one is used if it indexes the
 * same pool with the same settings.
 */
export async function ensureSentenceVectors(index: PoolIndex): Promise<VectorStore | undefined> {
  if (index.sentenceVectors) return index.sentenceVectors;
  const info = index.manifest.stores.sentences;
  if (!info) return undefined;
  if (!index.dir) throw new Error('index has no sentence vectors and no folder to read them from');
  try {
    index.sentenceVectors = await readStore(join(index.dir, index.manifest.data), 'sentences', info);
  } catch (err) {
    if (!isMissingFile(err)) throw err;
    const now = await readManifest(index.dir);
    const m = index.manifest;
    if (!now || now.poolHash !== m.poolHash || now.settingsHash !== m.settingsHash || !now.stores.sentences)
      throw new Error(
        `${index.dir}: the index was rebuilt for another pool or settings since it was loaded; load it again`,
      );
    index.sentenceVectors = await readStore(join(index.dir, now.data), 'sentences', now.stores.sentences);
  }
  return index.sentenceVectors;
}

function oldFormatMessage(dir: string, version: unknown): string {
  return (
    `${dir}: retrieval index of format version ${String(version)}; this el4ner reads version ${INDEX_FORMAT_VERSION}. ` +
    `Rebuild it: el4ner index --pool <pool file> --out ${dir} (a run with the pool file rebuilds it by itself)`
  );
}

export async function loadIndex(dir: string, opts: { lazySentences?: boolean } = {}): Promise<PoolIndex> {
  // A concurrent publisher may remove the data folder between the manifest and the files: retry.
  for (let attempt = 0; ; attempt++) {
    const state = await inspectManifest(dir);
    if (state.state === 'none') throw new Error(`${dir}: no retrieval index (manifest.json missing)`);
    if (state.state === 'foreign') throw new Error(`${dir}: no retrieval index (${state.detail})`);
    if (state.state === 'old') throw new Error(oldFormatMessage(dir, state.version));
    try {
      return await loadData(dir, state.manifest, opts);
    } catch (err) {
      if (!isMissingFile(err) || attempt >= 5) throw err;
    }
  }
}

async function loadData(
  dir: string,
  manifest: IndexManifest,
  opts: { lazySentences?: boolean },
): Promise<PoolIndex> {
  if (manifest.endianness !== endianness())
    throw new Error(`${dir}: index written on a ${manifest.endianness} machine`);
  const data = join(dir, manifest.data);
  await stat(data); // ENOENT when superseded: the caller retries with the new manifest
  const { spans, sentences, stores } = manifest;
  const [spanStore, spanVector, spanSentence, spanMeta, sentStore, docs] = await Promise.all([
    readStore(data, 'spans', stores.spans),
    readTyped(join(data, INDEX_FILES.spanVector), Int32Array, spans),
    readTyped(join(data, INDEX_FILES.spanSentence), Int32Array, spans),
    readTyped(join(data, INDEX_FILES.spanMeta), Int32Array, spans * 3),
    opts.lazySentences || !stores.sentences ? undefined : readStore(data, 'sentences', stores.sentences),
    readJsonLines<NerDocument>(join(data, INDEX_FILES.docs)),
  ]);
  if (docs.length !== sentences)
    throw new Error(`${join(data, INDEX_FILES.docs)}: ${docs.length} documents, expected ${sentences}`);
  for (let j = 0; j < spans; j++) {
    if (
      !(
        spanVector[j] >= 0 &&
        spanVector[j] < stores.spans.rows &&
        spanSentence[j] >= 0 &&
        spanSentence[j] < sentences
      )
    )
      throw new Error(`${data}: span ${j} points outside the index`);
  }
  const index: PoolIndex = {
    manifest,
    docs,
    dim: manifest.dim,
    spanVectors: spanStore,
    spanVector,
    spanSentence,
    spanMeta,
    sentenceVectors: sentStore,
    dir,
  };
  const ann = manifest.settings.approximate;
  if (ann && spanStore.kind === 'dense')
    index.ann = await ApproximateSpanSim.view(join(data, INDEX_FILES.ann), spanStore, spanTable(index), ann);
  return index;
}

/**
 * A pool file (with the encoding it is decoded with: `el4ner index --encoding`; default UTF-8) or
 * documents in memory.
 */
export type PoolSource = { poolFile: string; encoding?: string } | { docs: readonly NerDocument[] };

/**
 * The key of a pool file: the bytes of the files its documents are read from (a brat pool: its
 * .txt and its .ann), and the encoding they are decoded with when it is not UTF-8 (the same bytes
 * read as latin1 are another pool). A pool of one UTF-8 file keeps the key of its bytes alone, so
 * the indexes built before the rest was part of the key stay up to date.
 */
export async function poolFileHash(path: string, encoding?: string): Promise<string> {
  const name = encoding === undefined ? 'utf-8' : checkEncoding(encoding);
  const files = documentFiles(path);
  if (name === 'utf-8' && files.length === 1) return sha256(await readFile(files[0]));
  const h = createHash('sha256').update(`encoding=${name}\0`);
  for (const f of files) {
    const bytes = await readFile(f);
    h.update(`${extname(f)}:${bytes.length}\0`).update(bytes);
  }
  return h.digest('hex');
}

export interface BuildOrLoadResult {
  index: PoolIndex;
  rebuilt: boolean;
  /** Why the index was (re)built, or 'up to date'. */
  reason: string;
}

/** Loads `dir` when its pool and settings hashes match, else builds and saves the index. */
export async function buildOrLoadIndex(
  source: PoolSource,
  dir: string,
  opts: IndexOptions,
  readPool?: (path: string) => Promise<NerDocument[]>,
  loadOpts: { lazySentences?: boolean } = {},
): Promise<BuildOrLoadResult> {
  let poolHash: string;
  let docs: readonly NerDocument[] | undefined;
  if ('poolFile' in source) {
    poolHash = await poolFileHash(source.poolFile, source.encoding);
  } else {
    docs = source.docs;
    poolHash = docsHash(docs);
  }
  const wantSettings = settingsHash(resolveSettings(opts));
  const state = await checkIndexFolder(dir);
  let reason = 'no index yet';
  if (state.state === 'old')
    reason = `index format version ${String(state.version)} replaced by ${INDEX_FORMAT_VERSION}`;
  else if (state.state === 'foreign') reason = state.detail;
  else if (state.state === 'current') {
    const existing = state.manifest;
    if (existing.poolHash !== poolHash) reason = 'pool changed';
    else if (existing.settingsHash !== wantSettings) reason = 'settings changed';
    else {
      try {
        return { index: await loadIndex(dir, loadOpts), rebuilt: false, reason: 'up to date' };
      } catch (err) {
        // Replaced meanwhile by another pool or settings, or damaged: build our own.
        reason = `index unreadable (${(err as Error).message})`;
      }
    }
  }
  if (!docs) {
    const path = (source as { poolFile: string }).poolFile;
    if (readPool) docs = await readPool(path);
    else docs = await (await import('./pool-reader.js')).readPoolFile(path);
  }
  const index = await buildIndex(docs, opts, poolHash);
  await saveIndex(index, dir);
  return { index, rebuilt: true, reason };
}

/**
 * The demonstration pool index. For every pool sentence: its candidate spans (gold entity spans
 * by default, or spans from an LLM zero-shot pre-extraction callback), their POS, and unit
 * embeddings. All span vectors live in ONE row-major Float32Array (rows = spans) with an
 * Int32Array span -> sentence; whole-sentence vectors (for the sentence-embedding ablation) in a
 * second matrix. Sentences without spans stay in the pool (sentence-embedding/random modes).
 *
 * On disk (a folder): manifest.json (counts, settings, SHA-256 of the pool content and of the
 * settings), spans.f32, span-sentence.i32, span-meta.i32 (start, end, POS code per span),
 * sentences.f32 (little-endian typed-array dumps) and docs.json (the pool documents).
 * Loading is a few readFile calls wrapped in typed-array views.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { NerDocument, Span } from '../core/types.js';
import type { PosOf } from '../pos/span-pos.js';
import { spansPos } from '../pos/span-pos.js';
import { loadPosTagger } from '../pos/tagger.js';
import { type PosToken, uposCode } from '../pos/upos.js';
import { type PosWeights, resolveWeights, type WeightPresetName } from '../pos/weights.js';
import type { SpanEmbedder } from './embedders.js';

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
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface IndexSettings {
  embedder: string;
  spans: SpansMode;
  preExtract?: string;
  weights: PosWeights;
  posOf: PosOf;
}

export interface IndexManifest {
  format: 'el4ner-retrieval-index';
  version: 1;
  createdAt: string;
  poolHash: string;
  settingsHash: string;
  settings: IndexSettings;
  dim: number;
  sentences: number;
  spans: number;
  endianness: 'LE' | 'BE';
}

export interface PoolIndex {
  manifest: IndexManifest;
  docs: NerDocument[];
  dim: number;
  /** spans × dim, row-major. */
  spanVectors: Float32Array;
  /** span -> pool sentence index (non-decreasing). */
  spanSentence: Int32Array;
  /** start, end, POS code for each span (3 per span). */
  spanMeta: Int32Array;
  /**
   * sentences × dim, row-major. Undefined when loaded with `lazySentences` until
   * `ensureSentenceVectors` reads it (only the sentence-embedding ablation needs it).
   */
  sentenceVectors?: Float32Array;
  /** The folder the index was loaded from or saved to. */
  dir?: string;
}

export const INDEX_FILES = {
  manifest: 'manifest.json',
  spans: 'spans.f32',
  spanSentence: 'span-sentence.i32',
  spanMeta: 'span-meta.i32',
  sentences: 'sentences.f32',
  docs: 'docs.json',
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
  };
  if (spans === 'llm') s.preExtract = opts.preExtractIdentity ?? 'unnamed';
  return s;
}

export function settingsHash(s: IndexSettings): string {
  const w = s.weights;
  return sha256(
    JSON.stringify([s.embedder, s.spans, s.preExtract ?? null, [w.PROPN, w.NOUN, w.PRON, w.other], s.posOf]),
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

/** Embeds texts once each (duplicates share a vector) into a row-major matrix. */
async function embedRows(
  embedder: SpanEmbedder,
  texts: readonly string[],
  onProgress?: (done: number, total: number) => void,
): Promise<{ matrix: Float32Array; dim: number }> {
  const unique = new Map<string, number>();
  for (const t of texts) if (!unique.has(t)) unique.set(t, unique.size);
  const uniq = [...unique.keys()];
  const vecs: Float32Array[] = new Array(uniq.length);
  const CHUNK = 2048;
  for (let i = 0; i < uniq.length; i += CHUNK) {
    const part = await embedder.embed(uniq.slice(i, i + CHUNK));
    for (let j = 0; j < part.length; j++) vecs[i + j] = part[j];
    onProgress?.(Math.min(i + CHUNK, uniq.length), uniq.length);
  }
  const dim = vecs.length ? vecs[0].length : 0;
  const matrix = new Float32Array(texts.length * dim);
  for (let r = 0; r < texts.length; r++) {
    const v = vecs[unique.get(texts[r])!];
    if (v.length !== dim)
      throw new Error(`embedder ${embedder.identity} returned vectors of mixed dimensions`);
    matrix.set(v, r * dim);
  }
  return { matrix, dim };
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
  const spanTexts: string[] = [];
  const sentOf: number[] = [];
  const meta: number[] = [];
  for (let s = 0; s < docs.length; s++) {
    const doc = docs[s];
    const spans = await collectSpans(doc, opts, settings.spans);
    const pos = spansPos(tag, doc.text, spans, settings.posOf, { entity: true });
    for (let i = 0; i < spans.length; i++) {
      spanTexts.push(spans[i].text);
      sentOf.push(s);
      meta.push(spans[i].start, spans[i].end, uposCode(pos[i]));
    }
    if (opts.onProgress && (s + 1) % 1000 === 0) opts.onProgress('spans', s + 1, docs.length);
  }
  const spanM = await embedRows(opts.embedder, spanTexts, (d, t) => opts.onProgress?.('embed-spans', d, t));
  const sentM = await embedRows(
    opts.embedder,
    docs.map((d) => d.text),
    (d, t) => opts.onProgress?.('embed-sentences', d, t),
  );
  const dim = spanM.dim || sentM.dim;
  if (spanM.dim && sentM.dim && spanM.dim !== sentM.dim)
    throw new Error('span and sentence vectors differ in dimension');
  const manifest: IndexManifest = {
    format: 'el4ner-retrieval-index',
    version: 1,
    createdAt: new Date().toISOString(),
    poolHash: poolHash ?? docsHash(docs),
    settingsHash: settingsHash(settings),
    settings,
    dim,
    sentences: docs.length,
    spans: spanTexts.length,
    endianness: endianness(),
  };
  return {
    manifest,
    docs: [...docs],
    dim,
    spanVectors: spanM.matrix,
    spanSentence: Int32Array.from(sentOf),
    spanMeta: Int32Array.from(meta),
    sentenceVectors: sentM.matrix,
  };
}

function bytes(a: Float32Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

export async function saveIndex(index: PoolIndex, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  // The manifest goes last: a folder with a manifest is a complete index.
  await rm(join(dir, INDEX_FILES.manifest), { force: true });
  const write = async (name: string, data: Buffer | string) => {
    const tmp = join(dir, `${name}.tmp`);
    await writeFile(tmp, data);
    await rename(tmp, join(dir, name));
  };
  await write(INDEX_FILES.spans, bytes(index.spanVectors));
  await write(INDEX_FILES.spanSentence, bytes(index.spanSentence));
  await write(INDEX_FILES.spanMeta, bytes(index.spanMeta));
  await write(INDEX_FILES.sentences, bytes(await ensureSentenceVectors(index)));
  // Token lists are left out: they are derivable from the text and would double the file.
  await write(INDEX_FILES.docs, JSON.stringify(index.docs.map(({ tokens: _t, ...d }) => d)));
  await write(INDEX_FILES.manifest, `${JSON.stringify(index.manifest, null, 2)}\n`);
  index.dir = dir;
}

function view<T extends Float32Array | Int32Array>(
  buf: Buffer,
  Ctor: {
    new (b: ArrayBuffer, o: number, n: number): T;
    new (b: ArrayBufferLike): T;
    BYTES_PER_ELEMENT: number;
  },
  expected: number,
  name: string,
): T {
  if (buf.byteLength !== expected * Ctor.BYTES_PER_ELEMENT) {
    throw new Error(`${name}: ${buf.byteLength} bytes, expected ${expected * Ctor.BYTES_PER_ELEMENT}`);
  }
  if (buf.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) {
    return new Ctor(buf.buffer as ArrayBuffer, buf.byteOffset, expected);
  }
  const copy = new ArrayBuffer(buf.byteLength);
  new Uint8Array(copy).set(buf);
  return new Ctor(copy, 0, expected);
}

export async function readManifest(dir: string): Promise<IndexManifest | undefined> {
  let raw: string;
  try {
    raw = await readFile(join(dir, INDEX_FILES.manifest), 'utf8');
  } catch {
    return undefined;
  }
  const m = JSON.parse(raw) as IndexManifest;
  if (m.format !== 'el4ner-retrieval-index' || m.version !== 1) return undefined;
  return m;
}

export async function ensureSentenceVectors(index: PoolIndex): Promise<Float32Array> {
  if (!index.sentenceVectors) {
    if (!index.dir) throw new Error('index has no sentence vectors and no folder to read them from');
    const buf = await readFile(join(index.dir, INDEX_FILES.sentences));
    index.sentenceVectors = view(
      buf,
      Float32Array,
      index.manifest.sentences * index.dim,
      INDEX_FILES.sentences,
    );
  }
  return index.sentenceVectors;
}

export async function loadIndex(dir: string, opts: { lazySentences?: boolean } = {}): Promise<PoolIndex> {
  const manifest = await readManifest(dir);
  if (!manifest) throw new Error(`${dir}: no retrieval index (manifest.json missing or of another format)`);
  if (manifest.endianness !== endianness())
    throw new Error(`${dir}: index written on a ${manifest.endianness} machine`);
  const [sp, ss, sm, se, docs] = await Promise.all([
    readFile(join(dir, INDEX_FILES.spans)),
    readFile(join(dir, INDEX_FILES.spanSentence)),
    readFile(join(dir, INDEX_FILES.spanMeta)),
    opts.lazySentences ? undefined : readFile(join(dir, INDEX_FILES.sentences)),
    readFile(join(dir, INDEX_FILES.docs), 'utf8'),
  ]);
  const { dim, spans, sentences } = manifest;
  return {
    manifest,
    docs: JSON.parse(docs) as NerDocument[],
    dim,
    spanVectors: view(sp, Float32Array, spans * dim, INDEX_FILES.spans),
    spanSentence: view(ss, Int32Array, spans, INDEX_FILES.spanSentence),
    spanMeta: view(sm, Int32Array, spans * 3, INDEX_FILES.spanMeta),
    sentenceVectors: se ? view(se, Float32Array, sentences * dim, INDEX_FILES.sentences) : undefined,
    dir,
  };
}

export type PoolSource = { poolFile: string } | { docs: readonly NerDocument[] };

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
    poolHash = sha256(await readFile(source.poolFile));
  } else {
    docs = source.docs;
    poolHash = docsHash(docs);
  }
  const wantSettings = settingsHash(resolveSettings(opts));
  const existing = await readManifest(dir);
  let reason = 'no index yet';
  if (existing) {
    if (existing.poolHash !== poolHash) reason = 'pool changed';
    else if (existing.settingsHash !== wantSettings) reason = 'settings changed';
    else return { index: await loadIndex(dir, loadOpts), rebuilt: false, reason: 'up to date' };
  }
  if (!docs) {
    const path = (source as { poolFile: string }).poolFile;
    if (readPool) docs = await readPool(path);
    else docs = (await import('./pool-reader.js')).parsePoolJsonl(await readFile(path, 'utf8'), path);
  }
  const index = await buildIndex(docs, opts, poolHash);
  await saveIndex(index, dir);
  return { index, rebuilt: true, reason };
}

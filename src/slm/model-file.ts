/**
 * The CRF model file: gzip of
 *   8-byte magic "EL4NCRF\0" | uint32 LE header length | JSON header |
 *   feature name hashes (uint32 LE high halves, then low halves) | weights (Float32 LE)
 * The header carries the format name and version, the el4ner version, the label set,
 * the feature configuration, the gazetteer and word clusters, and a SHA-256 of the hashes and
 * weights, so a model of another format or a damaged file is refused instead of predicting
 * nonsense. Version 1 files (attribute names instead of hashes) are refused with a retrain hint.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeWholeFile } from '../core/write-file.js';
import type { ClusterSpec } from './clusters.js';
import type { FeatureConfig } from './features.js';
import type { LexiconSpec } from './lexicons.js';

export const MODEL_FORMAT = 'el4ner-crf';
export const MODEL_VERSION = 2;
const MAGIC = Buffer.from('EL4NCRF\0', 'latin1');

export class ModelFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFileError';
  }
}

export interface ModelHeader {
  format: typeof MODEL_FORMAT;
  version: number;
  el4nerVersion: string;
  labels: string[];
  scheme: 'BIO' | 'BIOES' | 'BMES';
  featureConfig: FeatureConfig;
  numFeatures: number;
  numWeights: number;
  /** SHA-256 (hex) of the hash bytes followed by the weight bytes. */
  checksum: string;
  gazetteer: [string, string[]][];
  /** Word clusters the features read: embedded, or a named resource shipped with el4ner. */
  clusters: ClusterSpec[];
  /** Lexicons the features read (shipped with el4ner); absent in files written before them. */
  lexicons?: LexiconSpec[];
  training?: Record<string, unknown>;
}

export interface ModelContents {
  header: Omit<
    ModelHeader,
    'format' | 'version' | 'el4nerVersion' | 'numFeatures' | 'numWeights' | 'checksum'
  >;
  /** Per feature, the two 32-bit halves of its name's hash (see feature-index.ts). */
  hashHi: Uint32Array;
  hashLo: Uint32Array;
  weights: Float32Array;
}

function bytesOf(a: Uint32Array | Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

let cachedVersion: string | undefined;
export function packageVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    // src/slm and dist/slm both sit two levels below the package root.
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    cachedVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    cachedVersion = 'unknown';
  }
  return cachedVersion;
}

export function encodeModel(contents: ModelContents): Buffer {
  const { hashHi, hashLo, weights } = contents;
  if (hashLo.length !== hashHi.length) throw new Error('feature hash halves differ in length');
  const body = [bytesOf(hashHi), bytesOf(hashLo), bytesOf(weights)];
  const sha = createHash('sha256');
  for (const b of body) sha.update(b);
  const header: ModelHeader = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    el4nerVersion: packageVersion(),
    ...contents.header,
    numFeatures: hashHi.length,
    numWeights: weights.length,
    checksum: sha.digest('hex'),
  };
  const headerBuf = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(headerBuf.length, 0);
  return gzipSync(Buffer.concat([MAGIC, len, headerBuf, ...body]), { level: 6 });
}

/** What a file given as a CRF model is instead, when that can be told from its first bytes. */
function otherFormat(file: Buffer): string | undefined {
  if (file.length === 0) return 'the file is empty';
  if (file.subarray(0, 4).toString('latin1') === 'GGUF')
    return 'it is a GGUF model (an LLM: give it under models: with engine llama-cpp); the CRF is the file train-slm writes';
  if (file[0] !== 0x1f || file[1] !== 0x8b) return 'the files train-slm writes are gzip, this one is not';
  return undefined;
}

export function decodeModel(
  file: Buffer,
  name = 'model',
): { header: ModelHeader; hashHi: Uint32Array; hashLo: Uint32Array; weights: Float32Array } {
  const other = otherFormat(file);
  if (other) throw new ModelFileError(`${name}: not an el4ner CRF model: ${other}`);
  let buf: Buffer;
  try {
    buf = gunzipSync(file);
  } catch (err) {
    throw new ModelFileError(
      `${name}: not an el4ner CRF model, or the file is truncated/corrupt (${(err as Error).message})`,
    );
  }
  if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) {
    throw new ModelFileError(`${name}: not an el4ner CRF model (bad magic bytes)`);
  }
  const headerLen = buf.readUInt32LE(8);
  if (12 + headerLen > buf.length) throw new ModelFileError(`${name}: truncated model header`);
  let header: ModelHeader;
  try {
    header = JSON.parse(buf.subarray(12, 12 + headerLen).toString('utf8'));
  } catch {
    throw new ModelFileError(`${name}: corrupt model header`);
  }
  if (header.format !== MODEL_FORMAT) {
    throw new ModelFileError(
      `${name}: unknown model format ${JSON.stringify(header.format)} (expected ${MODEL_FORMAT})`,
    );
  }
  if (header.version !== MODEL_VERSION) {
    throw new ModelFileError(
      `${name}: model file format version ${header.version} is not supported by this el4ner ` +
        `(${packageVersion()} reads version ${MODEL_VERSION}); retrain the model with this version`,
    );
  }
  const L = header.labels.length;
  const F = header.numFeatures;
  const expected = F * L + L * L + 2 * L;
  if (header.numWeights !== expected) {
    throw new ModelFileError(
      `${name}: inconsistent model header (${header.numWeights} weights, expected ${expected})`,
    );
  }
  const hStart = 12 + headerLen;
  const wStart = hStart + 8 * F;
  const wEnd = wStart + header.numWeights * 4;
  if (wEnd !== buf.length) {
    throw new ModelFileError(`${name}: model file size does not match its header (truncated or corrupt)`);
  }
  const checksum = createHash('sha256').update(buf.subarray(hStart, wEnd)).digest('hex');
  if (checksum !== header.checksum)
    throw new ModelFileError(`${name}: model checksum mismatch (corrupt file)`);
  // Copy into aligned typed arrays (the gunzipped buffer's offsets are not 4-aligned).
  const hashHi = new Uint32Array(F);
  const hashLo = new Uint32Array(F);
  const weights = new Float32Array(header.numWeights);
  new Uint8Array(hashHi.buffer).set(buf.subarray(hStart, hStart + 4 * F));
  new Uint8Array(hashLo.buffer).set(buf.subarray(hStart + 4 * F, wStart));
  new Uint8Array(weights.buffer).set(buf.subarray(wStart, wEnd));
  return { header, hashHi, hashLo, weights };
}

export async function writeModel(path: string, contents: ModelContents): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // whole or not at all: an interrupted write must not leave the model that was there damaged
  await writeWholeFile(path, encodeModel(contents));
}

export async function readModel(path: string) {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'a folder, not a model file'
          : (err as Error).message;
    throw new ModelFileError(`${path}: ${why}`);
  }
  return decodeModel(file, path);
}

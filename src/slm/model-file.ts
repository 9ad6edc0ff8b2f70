/**
 * The CRF model file: gzip of
 *   8-byte magic "EL4NCRF\0" | uint32 LE header length | JSON header |
 *   feature names (UTF-8, NUL-separated) | weights (Float32 LE)
 * The header carries the format name and version, the el4ner version, the label set,
 * the feature configuration and a SHA-256 of the feature names and weights, so a model
 * of another format or a damaged file is refused instead of predicting nonsense.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { FeatureConfig } from './features.js';

export const MODEL_FORMAT = 'el4ner-crf';
export const MODEL_VERSION = 1;
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
  featureBytes: number;
  /** SHA-256 (hex) of the feature-name bytes followed by the weight bytes. */
  checksum: string;
  gazetteer: [string, string[]][];
  training?: Record<string, unknown>;
}

export interface ModelContents {
  header: Omit<
    ModelHeader,
    'format' | 'version' | 'el4nerVersion' | 'numFeatures' | 'numWeights' | 'featureBytes' | 'checksum'
  >;
  features: string[];
  weights: Float64Array;
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
  for (const f of contents.features) {
    if (f.includes('\0')) throw new Error(`feature name contains NUL: ${JSON.stringify(f)}`);
  }
  const featureBuf = Buffer.from(contents.features.join('\0'), 'utf8');
  const w32 = Float32Array.from(contents.weights);
  const weightBuf = Buffer.from(w32.buffer, w32.byteOffset, w32.byteLength);
  const checksum = createHash('sha256').update(featureBuf).update(weightBuf).digest('hex');
  const header: ModelHeader = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    el4nerVersion: packageVersion(),
    ...contents.header,
    numFeatures: contents.features.length,
    numWeights: contents.weights.length,
    featureBytes: featureBuf.length,
    checksum,
  };
  const headerBuf = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(headerBuf.length, 0);
  return gzipSync(Buffer.concat([MAGIC, len, headerBuf, featureBuf, weightBuf]), { level: 6 });
}

export function decodeModel(
  file: Buffer,
  name = 'model',
): { header: ModelHeader; features: string[]; weights: Float64Array } {
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
  const expected = header.numFeatures * L + L * L + 2 * L;
  if (header.numWeights !== expected) {
    throw new ModelFileError(
      `${name}: inconsistent model header (${header.numWeights} weights, expected ${expected})`,
    );
  }
  const fStart = 12 + headerLen;
  const wStart = fStart + header.featureBytes;
  const wEnd = wStart + header.numWeights * 4;
  if (wEnd !== buf.length) {
    throw new ModelFileError(`${name}: model file size does not match its header (truncated or corrupt)`);
  }
  const featureBuf = buf.subarray(fStart, wStart);
  const weightBuf = buf.subarray(wStart, wEnd);
  const checksum = createHash('sha256').update(featureBuf).update(weightBuf).digest('hex');
  if (checksum !== header.checksum)
    throw new ModelFileError(`${name}: model checksum mismatch (corrupt file)`);
  const features = header.numFeatures === 0 ? [] : featureBuf.toString('utf8').split('\0');
  if (features.length !== header.numFeatures)
    throw new ModelFileError(`${name}: feature count does not match its header`);
  const aligned = new Float32Array(header.numWeights);
  new Uint8Array(aligned.buffer).set(weightBuf);
  return { header, features, weights: Float64Array.from(aligned) };
}

export async function writeModel(path: string, contents: ModelContents): Promise<void> {
  await writeFile(path, encodeModel(contents));
}

export async function readModel(path: string) {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (err) {
    throw new ModelFileError(`cannot read model ${path}: ${(err as Error).message}`);
  }
  return decodeModel(file, path);
}

/**
 * Reading and writing documents in every supported format:
 * jsonl (the shared format), conll, spacy (JSONL), brat (standoff), text (input only).
 * Line formats are read as streams (node:readline); output is built in memory and written once.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { InputError } from '../core/errors.js';
import type { NerDocument } from '../core/types.js';
import { readBrat, writeBrat } from './brat.js';
import { formatConll, readConll } from './conll.js';
import { formatJsonl, readJsonl } from './jsonl.js';
import { formatSpacy, readSpacy } from './spacy.js';
import { readText } from './text.js';
import {
  defaultOffsets,
  INPUT_FORMATS,
  type InputFormat,
  OUTPUT_FORMATS,
  type OutputFormat,
  type ReadOptions,
  type WriteOptions,
} from './types.js';

export { detectSchemeOf } from './scheme.js';
export { findOverlap } from './token-spans.js';
export * from './types.js';

const CONLL_EXTENSIONS = new Set([
  '.conll',
  '.conllu',
  '.conll03',
  '.bio',
  '.iob',
  '.iob2',
  '.bioes',
  '.bmes',
  '.tsv',
  '.col',
]);
const JSON_EXTENSIONS = new Set(['.jsonl', '.json', '.ndjson']);
const TAG = /^(?:O|[BIEMSLU][-_]\S+)$/;

export function isInputFormat(s: string): s is InputFormat {
  return (INPUT_FORMATS as readonly string[]).includes(s);
}

export function isOutputFormat(s: string): s is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(s);
}

async function head(file: string, bytes = 65536): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** Whether the first lines look like CoNLL columns with a tag column (the last). */
function looksLikeConll(sample: string): boolean {
  const lines = sample
    .split(/\r?\n/)
    .slice(0, -1)
    .filter((l) => l.trim() !== '')
    .slice(0, 200);
  if (lines.length === 0) return false;
  return lines.every((l) => {
    const cols = l.trim().split(/\s+/);
    return cols[0] === '-DOCSTART-' || (cols.length >= 2 && TAG.test(cols[cols.length - 1]));
  });
}

/** jsonl or spacy, from the first record. */
function jsonFlavour(sample: string): InputFormat | null {
  const first = sample.split(/\r?\n/).find((l) => l.trim() !== '');
  if (first === undefined) return 'jsonl';
  let rec: unknown;
  try {
    rec = JSON.parse(first);
  } catch {
    return null;
  }
  if (Array.isArray(rec)) return 'spacy';
  if (typeof rec !== 'object' || rec === null) return null;
  const r = rec as Record<string, unknown>;
  if (r.ents !== undefined || r.spans !== undefined) return 'spacy';
  if (Array.isArray(r.entities) && r.entities.some((e) => Array.isArray(e))) return 'spacy';
  return 'jsonl';
}

/** Detects the input format from the path (extension, folder contents) and the first lines. */
export async function detectFormat(path: string): Promise<InputFormat> {
  if (!existsSync(path)) throw new InputError('no such file or folder', path);
  if ((await stat(path)).isDirectory()) {
    const names = await readdir(path);
    if (names.some((n) => n.endsWith('.ann'))) return 'brat';
    if (names.some((n) => n.endsWith('.txt'))) return 'text';
    throw new InputError('cannot tell the format of this folder (no .ann or .txt files); give --from', path);
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.ann') return 'brat';
  if (ext === '.txt' && existsSync(`${path.slice(0, -4)}.ann`)) return 'brat';
  if (CONLL_EXTENSIONS.has(ext)) return 'conll';
  const sample = await head(path);
  if (JSON_EXTENSIONS.has(ext)) {
    const f = jsonFlavour(sample);
    if (f) return f;
    throw new InputError('the first line is not a JSON object', path, 1);
  }
  if (/^\s*[[{]/.test(sample)) {
    const f = jsonFlavour(sample);
    if (f) return f;
  }
  if (looksLikeConll(sample)) return 'conll';
  if (ext === '.txt') return 'text';
  throw new InputError(
    'cannot tell the format of this file; give --from (jsonl, conll, spacy, brat or text)',
    path,
  );
}

/** Reads documents from a file or folder, or from stdin when `path` is '-' (jsonl, spacy or conll, given by `format`). */
export async function readDocuments(path: string, options: ReadOptions = {}): Promise<NerDocument[]> {
  if (path === '-') {
    if (options.format !== 'jsonl' && options.format !== 'spacy' && options.format !== 'conll') {
      throw new InputError('reading stdin needs the format (--from jsonl, spacy or conll)');
    }
  } else if (!existsSync(path)) throw new InputError('no such file or folder', path);
  const format = options.format ?? (await detectFormat(path));
  const offsets = options.offsets ?? defaultOffsets(format);
  switch (format) {
    case 'jsonl':
      return readJsonl(path, { offsets });
    case 'spacy':
      return readSpacy(path, { offsets });
    case 'conll':
      return readConll(path, options);
    case 'brat':
      return readBrat(path, { offsets, discontinuous: options.discontinuous, onWarning: options.onWarning });
    case 'text':
      return readText(path);
    default:
      throw new InputError(`unknown input format ${JSON.stringify(format)}`);
  }
}

/** Guesses the output format from the path: .jsonl/.json -> jsonl, CoNLL extensions -> conll, .ann or no extension -> brat. */
export function outputFormatOf(path: string): OutputFormat | null {
  const ext = extname(path).toLowerCase();
  if (JSON_EXTENSIONS.has(ext)) return 'jsonl';
  if (CONLL_EXTENSIONS.has(ext)) return 'conll';
  if (ext === '.ann') return 'brat';
  if (existsSync(path)) return null;
  return ext === '' ? 'brat' : null;
}

/** The text of a line format (jsonl, conll, spacy); brat has no single text. */
export function formatDocuments(
  docs: readonly NerDocument[],
  options: WriteOptions & { format: OutputFormat },
): string {
  const offsets = options.offsets ?? defaultOffsets(options.format);
  switch (options.format) {
    case 'jsonl':
      return formatJsonl(docs, offsets);
    case 'spacy':
      return formatSpacy(docs, offsets);
    case 'conll':
      return formatConll(docs, options);
    default:
      throw new InputError(`${options.format} is not a single-file format`);
  }
}

/** Writes documents; returns the files written. Nothing is written when a document cannot be. */
export async function writeDocuments(
  path: string,
  docs: readonly NerDocument[],
  options: WriteOptions = {},
): Promise<string[]> {
  const format = options.format ?? outputFormatOf(path);
  if (!format)
    throw new InputError('cannot tell the output format from the path; give the format (--to)', path);
  if (format === 'brat') return writeBrat(path, docs, options.offsets ?? defaultOffsets('brat'));
  const text = formatDocuments(docs, { ...options, format });
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return [path];
}

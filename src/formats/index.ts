/**
 * Reading and writing documents in every supported format:
 * jsonl (the shared format), conll, spacy (JSONL), brat (standoff), text (input only).
 * Line formats are read as streams (node:readline); output is built in memory and written once.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { InputError } from '../core/errors.js';
import type { NerDocument } from '../core/types.js';
import { writeWholeFile } from '../core/write-file.js';
import { checkEncoding } from './decode.js';
import { readLines } from './lines.js';
import { defaultOffsets, EXTENSIONS, INPUT, OUTPUT } from './registry.js';
import {
  INPUT_FORMATS,
  type InputFormat,
  OUTPUT_FORMATS,
  type OutputFormat,
  type ReadOptions,
  type WriteOptions,
} from './types.js';

export { writeWholeFile } from '../core/write-file.js';
export { defaultOffsets } from './registry.js';
export { detectSchemeOf } from './scheme.js';
export { findOverlap } from './token-spans.js';
export * from './types.js';

const TAG = /^(?:O|[BIEMSLU][-_]\S+)$/;

export function isInputFormat(s: string): s is InputFormat {
  return (INPUT_FORMATS as readonly string[]).includes(s);
}

export function isOutputFormat(s: string): s is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(s);
}

/** The first `max` non-blank lines (each whole, however long), decoded and checked like the reader does. */
async function head(file: string, opts: ReadOptions, max = 200): Promise<string[]> {
  const out: string[] = [];
  for await (const [, line] of readLines(file, { encoding: opts.encoding })) {
    if (line.trim() === '') continue;
    out.push(line);
    if (out.length >= max) break;
  }
  return out;
}

/** Whether the first lines look like CoNLL columns with a tag column (the last). */
function looksLikeConll(lines: string[]): boolean {
  if (lines.length === 0) return false;
  return lines.every((l) => {
    const cols = l.trim().split(/\s+/);
    return cols[0] === '-DOCSTART-' || (cols.length >= 2 && TAG.test(cols[cols.length - 1]));
  });
}

/** jsonl or spacy, from the first record. */
function jsonFlavour(first: string | undefined): InputFormat | null {
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

/** The stem of a brat pair given by one of its files (its .ann, or its .txt with an .ann beside it). */
function bratStem(path: string): string | undefined {
  const ext = extname(path);
  const named = EXTENSIONS.get(ext.toLowerCase());
  if (named === 'brat' || (ext.toLowerCase() === '.txt' && existsSync(`${path.slice(0, -4)}.ann`)))
    return path.slice(0, -ext.length);
  return undefined;
}

/**
 * The files whose bytes make up the documents read from the file `path`: both files of a brat
 * pair (its text and its annotations), else the file itself.
 */
export function documentFiles(path: string): string[] {
  const stem = bratStem(path);
  return stem === undefined ? [path] : [`${stem}.txt`, `${stem}.ann`].filter((f) => existsSync(f));
}

/** Detects the input format from the path (extension, folder contents) and the first lines. */
export async function detectFormat(path: string, opts: ReadOptions = {}): Promise<InputFormat> {
  if (!existsSync(path)) throw new InputError('no such file or folder', path);
  if ((await stat(path)).isDirectory()) {
    const names = await readdir(path);
    if (names.some((n) => n.endsWith('.ann'))) return 'brat';
    if (names.some((n) => n.endsWith('.txt'))) return 'text';
    throw new InputError('cannot tell the format of this folder (no .ann or .txt files); give --from', path);
  }
  if (bratStem(path) !== undefined) return 'brat';
  const ext = extname(path).toLowerCase();
  const named = EXTENSIONS.get(ext);
  if (named === 'conll') return 'conll';
  const lines = await head(path, opts);
  if (named === 'jsonl') {
    const f = jsonFlavour(lines[0]);
    if (f) return f;
    throw new InputError('the first line is not a JSON object', path, 1);
  }
  if (lines.length > 0 && /^\s*[[{]/.test(lines[0])) {
    const f = jsonFlavour(lines[0]);
    if (f) return f;
  }
  if (looksLikeConll(lines)) return 'conll';
  if (ext === '.txt') return 'text';
  throw new InputError(
    'cannot tell the format of this file; give --from (jsonl, conll, spacy, brat or text)',
    path,
  );
}

/**
 * Reads documents from a file or folder, or from stdin when `path` is '-' (JSONL unless `format`
 * says otherwise; brat needs files). Input is decoded as UTF-8 (or `encoding`) and checked.
 */
export async function readDocuments(path: string, options: ReadOptions = {}): Promise<NerDocument[]> {
  if (path !== '-' && !existsSync(path)) throw new InputError('no such file or folder', path);
  if (options.encoding !== undefined) checkEncoding(options.encoding);
  const format = options.format ?? (path === '-' ? 'jsonl' : await detectFormat(path, options));
  const entry = INPUT[format];
  if (!entry) throw new InputError(`unknown input format ${JSON.stringify(format)}`);
  if (path === '-' && !entry.stdin)
    throw new InputError(`${format} input needs its files (brat: .txt and .ann), not stdin`);
  return entry.read(path, { ...options, offsets: options.offsets ?? defaultOffsets(format) });
}

/** Guesses the output format from the path: .jsonl/.json -> jsonl, CoNLL extensions -> conll, .ann or no extension -> brat. */
export function outputFormatOf(path: string): OutputFormat | null {
  const ext = extname(path).toLowerCase();
  const named = EXTENSIONS.get(ext);
  if (named) return named;
  if (existsSync(path)) return null;
  return ext === '' ? 'brat' : null;
}

/** The text of a line format (jsonl, conll, spacy); brat has no single text. */
export function formatDocuments(
  docs: readonly NerDocument[],
  options: WriteOptions & { format: OutputFormat },
): string {
  const entry = OUTPUT[options.format];
  if (entry?.kind !== 'text') throw new InputError(`${options.format} is not a single-file format`);
  return entry.format(docs, { ...options, offsets: options.offsets ?? defaultOffsets(options.format) });
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
  const entry = OUTPUT[format];
  if (entry.kind === 'files') return entry.write(path, docs, options.offsets ?? defaultOffsets(format));
  const text = formatDocuments(docs, { ...options, format });
  await mkdir(dirname(path), { recursive: true });
  await writeWholeFile(path, text);
  return [path];
}

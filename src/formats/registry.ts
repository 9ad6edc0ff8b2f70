/**
 * The formats, one entry each: how a format is read, written, recognised by its file extension,
 * and which offset unit its files count in. Adding a format is one entry here plus its name in
 * INPUT_FORMATS / OUTPUT_FORMATS (types.ts), which the CLI's flags and help are built from.
 */
import { stat } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import type { OffsetUnit } from '../core/offsets.js';
import type { NerDocument } from '../core/types.js';
import { readBrat, writeBrat } from './brat.js';
import { formatConll, readConll } from './conll.js';
import { formatJsonl, readJsonl } from './jsonl.js';
import { formatSpacy, readSpacy } from './spacy.js';
import { readText, readTextLines } from './text.js';
import type { InputFormat, OutputFormat, ReadOptions, WriteOptions } from './types.js';

type Offsets = { offsets: OffsetUnit };

export interface InputFormatEntry {
  /** Reads every document of `path` ('-' is stdin where `stdin` allows it). */
  read(path: string, options: ReadOptions & Offsets): Promise<NerDocument[]>;
  /** Whether the format can come on stdin (brat needs its .txt/.ann pairs). */
  stdin: boolean;
}

export type OutputFormatEntry =
  /** A single-file format: the text of the documents, written once. */
  | { kind: 'text'; format(docs: readonly NerDocument[], options: WriteOptions & Offsets): string }
  /** A folder of files (brat): written by the format itself; returns the files written. */
  | {
      kind: 'files';
      write(path: string, docs: readonly NerDocument[], offsets: OffsetUnit): Promise<string[]>;
    };

/** Offsets in the files of each format: Python tools (spaCy, brat) count code points. */
const OFFSETS: Record<InputFormat | OutputFormat, OffsetUnit> = {
  jsonl: 'utf16',
  conll: 'utf16',
  spacy: 'codepoint',
  brat: 'codepoint',
  text: 'utf16',
  lines: 'utf16',
};

export const INPUT: Record<InputFormat, InputFormatEntry> = {
  jsonl: { stdin: true, read: (p, o) => readJsonl(p, { offsets: o.offsets, encoding: o.encoding }) },
  spacy: { stdin: true, read: (p, o) => readSpacy(p, { offsets: o.offsets, encoding: o.encoding }) },
  conll: { stdin: true, read: (p, o) => readConll(p, o) },
  brat: {
    stdin: false,
    read: (p, o) =>
      readBrat(p, {
        offsets: o.offsets,
        discontinuous: o.discontinuous,
        onWarning: o.onWarning,
        encoding: o.encoding,
      }),
  },
  text: { stdin: true, read: (p, o) => readText(p, { encoding: o.encoding }) },
  lines: {
    stdin: true,
    read: async (p, o) => {
      if (p !== '-' && (await stat(p)).isDirectory())
        throw new InputError('--from lines reads one file (one document per line), not a folder', p);
      return readTextLines(p, { encoding: o.encoding });
    },
  },
};

export const OUTPUT: Record<OutputFormat, OutputFormatEntry> = {
  jsonl: { kind: 'text', format: (docs, o) => formatJsonl(docs, o.offsets) },
  spacy: { kind: 'text', format: (docs, o) => formatSpacy(docs, o.offsets) },
  conll: { kind: 'text', format: (docs, o) => formatConll(docs, o) },
  brat: { kind: 'files', write: writeBrat },
};

/** File extensions that name a format (detection and the output format of a path). */
export const EXTENSIONS: ReadonlyMap<string, 'jsonl' | 'conll' | 'brat'> = new Map([
  ...['.jsonl', '.json', '.ndjson'].map((e) => [e, 'jsonl'] as const),
  ...['.conll', '.conllu', '.conll03', '.bio', '.iob', '.iob2', '.bioes', '.bmes', '.tsv', '.col'].map(
    (e) => [e, 'conll'] as const,
  ),
  ['.ann', 'brat'] as const,
]);

export function defaultOffsets(format: InputFormat | OutputFormat): OffsetUnit {
  return OFFSETS[format];
}

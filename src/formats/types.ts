import type { OffsetUnit } from '../core/offsets.js';
import type { TagScheme } from '../core/types.js';

/** `lines`: one document per line of a text file (never detected: give it with --from). */
export const INPUT_FORMATS = ['jsonl', 'conll', 'spacy', 'brat', 'text', 'lines'] as const;
export const OUTPUT_FORMATS = ['jsonl', 'conll', 'spacy', 'brat'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Something the reader skipped or repaired and wants the user to know; never silent. */
export interface FormatWarning {
  file: string;
  line?: number;
  message: string;
}

export interface ConllOptions {
  /** Column of the token, 0-based; negative counts from the end. Default 0. */
  tokenCol?: number;
  /** Column of the tag, 0-based; negative counts from the end. Default -1 (the last column). */
  tagCol?: number;
  /** Column separator: 'whitespace' (any run of spaces/tabs, the default), 'tab', or a literal string. */
  sep?: 'whitespace' | 'tab' | (string & {});
}

export interface ReadOptions extends ConllOptions {
  /** Input format; detected from the path and content when absent. */
  format?: InputFormat;
  /**
   * Unit of the offsets in the file. Default: 'utf16' for jsonl, 'codepoint' for spacy and brat
   * (files written by Python tools count code points).
   */
  offsets?: OffsetUnit;
  /** brat discontinuous entities: 'error' (default) or 'skip' (reported through onWarning). */
  discontinuous?: 'error' | 'skip';
  /** Receives every warning; default: printed to stderr as `el4ner: warning: file:line: message`. */
  onWarning?: (warning: FormatWarning) => void;
  /** Encoding of the input (a WHATWG label); default UTF-8, checked byte by byte. */
  encoding?: string;
}

export interface WriteOptions extends ConllOptions {
  /** Output format; guessed from the path when absent (.jsonl -> jsonl, .conll/.bio/... -> conll, .ann or a folder -> brat). */
  format?: OutputFormat;
  /** CoNLL tag scheme; default: the scheme of the documents' own tags, else BIO. */
  scheme?: TagScheme;
  /** Offset unit to write: default as for reading. */
  offsets?: OffsetUnit;
}

export function defaultWarn(w: FormatWarning): void {
  const where = w.line !== undefined ? `${w.file}:${w.line}` : w.file;
  process.stderr.write(`el4ner: warning: ${where}: ${w.message}\n`);
}

/**
 * CoNLL column files: one token per line, columns separated by whitespace (or tabs), a blank
 * line between sentences, `-DOCSTART-` lines between documents. Each sentence is one document:
 * its text is the tokens joined by single spaces, its id `<file stem>-<sentence index>`.
 *
 * Reading keeps the tags as given, and reads entities with `spansFromTags` (B starts, I/M
 * continue the same type or start a new span, E ends, S is a single token: an `I-` after `O` is
 * repaired into a span start, as conlleval does). A `-DOCSTART-` line is kept as
 * `meta.docstart` (the line itself) on the sentence after it; with more than two columns the
 * full rows are kept as `meta.conllColumns` so that writing restores the other columns.
 */
import { InputError } from '../core/errors.js';
import { TagError, tagsFromSpans } from '../core/tags.js';
import type { NerDocument, TagScheme, Token } from '../core/types.js';
import { fileStem, readLines } from './lines.js';
import { detectSchemeOf } from './scheme.js';
import { assertFlat, entitiesFromTags, tokenSpansOf, tokensForTagging } from './token-spans.js';
import { type ConllOptions, defaultWarn, type FormatWarning } from './types.js';
import { checkTags } from './validate.js';

const DOCSTART = '-DOCSTART-';

function splitter(sep: ConllOptions['sep']): (line: string) => string[] {
  if (sep === undefined || sep === 'whitespace') return (l) => l.trim().split(/\s+/);
  const s = sep === 'tab' ? '\t' : sep;
  return (l) => l.split(s);
}

function columnIndex(col: number, count: number): number {
  return col < 0 ? count + col : col;
}

interface Pending {
  tokens: string[];
  tags: string[];
  rows: string[][];
  lines: number[];
  docstart?: string;
}

export async function readConll(
  file: string,
  options: ConllOptions & { onWarning?: (w: FormatWarning) => void; encoding?: string } = {},
): Promise<NerDocument[]> {
  const warn = options.onWarning ?? defaultWarn;
  const split = splitter(options.sep);
  const tokenColOpt = options.tokenCol ?? 0;
  const tagColOpt = options.tagCol ?? -1;
  const stem = fileStem(file);
  const docs: NerDocument[] = [];
  let columns = -1;
  let columnsLine = 0;
  let pendingDocstart: string | undefined;
  let cur: Pending = { tokens: [], tags: [], rows: [], lines: [] };

  const flush = () => {
    if (cur.tokens.length === 0) return;
    const text = cur.tokens.join(' ');
    const tokens: Token[] = [];
    let pos = 0;
    for (const t of cur.tokens) {
      tokens.push({ text: t, start: pos, end: pos + t.length });
      pos += t.length + 1;
    }
    const lines = cur.lines;
    checkTags(cur.tags, file, (i) => lines[i]);
    const doc: NerDocument = {
      id: `${stem}-${docs.length}`,
      text,
      entities: entitiesFromTags(text, tokens, cur.tags),
      tokens,
      tags: cur.tags,
    };
    const meta: Record<string, unknown> = {};
    if (cur.docstart !== undefined) meta.docstart = cur.docstart;
    if (columns > 2) meta.conllColumns = cur.rows;
    if (Object.keys(meta).length > 0) doc.meta = meta;
    docs.push(doc);
    cur = { tokens: [], tags: [], rows: [], lines: [] };
  };

  for await (const [line, raw] of readLines(file, { encoding: options.encoding })) {
    if (raw.trim() === '') {
      flush();
      continue;
    }
    const row = split(raw);
    if (row[0] === DOCSTART) {
      flush();
      if (pendingDocstart !== undefined) {
        warn({
          file,
          line,
          message: `the ${DOCSTART} before this one has no sentence: an empty document is skipped`,
        });
      }
      pendingDocstart = raw;
      continue;
    }
    if (columns < 0) {
      columns = row.length;
      columnsLine = line;
      const tokenCol = columnIndex(tokenColOpt, columns);
      const tagCol = columnIndex(tagColOpt, columns);
      if (
        columns < 2 ||
        tokenCol < 0 ||
        tagCol < 0 ||
        tokenCol >= columns ||
        tagCol >= columns ||
        tokenCol === tagCol
      ) {
        throw new InputError(
          `${columns} column(s) cannot hold the token in column ${tokenColOpt} and the tag in column ${tagColOpt}`,
          file,
          line,
        );
      }
    } else if (row.length !== columns) {
      throw new InputError(
        `expected ${columns} columns (as on line ${columnsLine}), found ${row.length}`,
        file,
        line,
      );
    }
    if (cur.tokens.length === 0 && pendingDocstart !== undefined) {
      cur.docstart = pendingDocstart;
      pendingDocstart = undefined;
    }
    const token = row[columnIndex(tokenColOpt, columns)];
    if (token === '') throw new InputError('empty token', file, line);
    cur.tokens.push(token);
    cur.tags.push(row[columnIndex(tagColOpt, columns)]);
    if (columns > 2) cur.rows.push(row);
    cur.lines.push(line);
  }
  flush();
  if (pendingDocstart !== undefined) {
    warn({ file, message: `the last ${DOCSTART} has no sentence after it: an empty document is skipped` });
  }
  return docs;
}

export interface ConllWriteOptions extends ConllOptions {
  scheme?: TagScheme;
}

/** Formats documents as CoNLL; throws naming the document for nested entities or unwritable tokens. */
export function formatConll(docs: readonly NerDocument[], options: ConllWriteOptions = {}): string {
  const scheme = options.scheme ?? detectSchemeOf(docs);
  const sepOut =
    options.sep === undefined || options.sep === 'whitespace'
      ? ' '
      : options.sep === 'tab'
        ? '\t'
        : options.sep;
  // a token holding the separator would be read back as more columns
  const badToken = (text: string) =>
    /[\n\r]/.test(text) || (sepOut === ' ' ? /\s/.test(text) : text.includes(sepOut));
  const parts: string[] = [];
  for (const doc of docs) {
    assertFlat(doc, 'CoNLL');
    const tokens = tokensForTagging(doc);
    if (tokens.length === 0) {
      throw new InputError(
        `document ${JSON.stringify(doc.id)} has no tokens; CoNLL cannot hold an empty sentence`,
      );
    }
    let tags: string[];
    try {
      tags = tagsFromSpans(tokens.length, tokenSpansOf(doc, tokens), scheme);
    } catch (err) {
      if (err instanceof TagError) throw new InputError(`document ${JSON.stringify(doc.id)}: ${err.message}`);
      throw err;
    }
    const rows = storedRows(doc, tokens);
    const width = rows
      ? rows[0].length
      : Math.max(2, columnIndex(options.tokenCol ?? 0, 2) + 1, columnIndex(options.tagCol ?? -1, 2) + 1);
    const tokenCol = columnIndex(options.tokenCol ?? 0, width);
    const tagCol = columnIndex(options.tagCol ?? -1, width);
    if (tokenCol === tagCol || tokenCol < 0 || tagCol < 0 || tokenCol >= width || tagCol >= width) {
      throw new InputError(
        `cannot write the token in column ${options.tokenCol} and the tag in column ${options.tagCol} of ${width}`,
      );
    }
    const docstart = doc.meta?.docstart;
    if (docstart !== undefined) {
      const line =
        typeof docstart === 'string' && docstart.trim().startsWith(DOCSTART)
          ? docstart
          : `${DOCSTART}${sepOut}O`;
      parts.push(line, '');
    }
    tokens.forEach((t, i) => {
      if (badToken(t.text)) {
        throw new InputError(
          `document ${JSON.stringify(doc.id)}: token ${i} ${JSON.stringify(t.text)} contains the column separator or a line break`,
        );
      }
      const row = rows ? [...rows[i]] : new Array<string>(width).fill('_');
      row[tokenCol] = t.text;
      row[tagCol] = tags[i];
      parts.push(row.join(sepOut));
    });
    parts.push('');
  }
  return parts.length ? `${parts.join('\n')}\n` : '';
}

/** The rows read from a multi-column file, when they still fit the document's tokens. */
function storedRows(doc: NerDocument, tokens: readonly Token[]): string[][] | null {
  const rows = doc.meta?.conllColumns;
  if (!Array.isArray(rows) || rows.length !== tokens.length || rows.length === 0) return null;
  const width = Array.isArray(rows[0]) ? rows[0].length : 0;
  if (width < 2) return null;
  for (const r of rows)
    if (!Array.isArray(r) || r.length !== width || !r.every((c) => typeof c === 'string')) return null;
  return rows as string[][];
}

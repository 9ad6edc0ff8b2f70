/**
 * Training data for the tagger: tokens and gold tags in the wanted scheme, from NerDocuments.
 * Also a small JSONL reader for the shared data (tokens given as strings or as Token objects).
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import { spansFromTags, type TokenSpan, tagsFromSpans } from '../core/tags.js';
import { alignTokens, tokenize } from '../core/tokenize.js';
import type { Entity, NerDocument, TagScheme, Token } from '../core/types.js';
import { type Counts, type Prf, prf } from '../eval/prf.js';
import { countDocument } from '../eval/strict.js';
import type { DecodeOptions } from '../formats/decode.js';
import { readLines } from '../formats/lines.js';

/** Reads one document per line; `tokens` may be strings (aligned to `text`) or Token objects. */
export async function readJsonlDocuments(file: string): Promise<NerDocument[]> {
  const raw = await readFile(file, 'utf8');
  const docs: NerDocument[] = [];
  const lines = raw.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw new InputError(`invalid JSON (${(err as Error).message})`, file, i + 1);
    }
    if (typeof obj.text !== 'string') throw new InputError('missing "text"', file, i + 1);
    const text = obj.text;
    let tokens: Token[] | undefined;
    if (Array.isArray(obj.tokens)) {
      if (obj.tokens.every((t) => typeof t === 'string')) {
        try {
          tokens = alignTokens(text, obj.tokens as string[], { allowGaps: true });
        } catch (err) {
          throw new InputError((err as Error).message, file, i + 1);
        }
      } else tokens = obj.tokens as Token[];
    }
    docs.push({
      id: typeof obj.id === 'string' ? obj.id : `${i + 1}`,
      text,
      entities: Array.isArray(obj.entities) ? (obj.entities as Entity[]) : [],
      tokens,
      tags: Array.isArray(obj.tags) ? (obj.tags as string[]) : undefined,
    });
  }
  return docs;
}

export { documentTokens } from '../core/tokenize.js';

/**
 * Token spans of a document's entities. Entities not on token boundaries are dropped;
 * overlapping (nested) entities keep the outermost, then the first.
 */
export function entityTokenSpans(tokens: readonly Token[], entities: readonly Entity[]): TokenSpan[] {
  const startAt = new Map<number, number>();
  const endAt = new Map<number, number>();
  tokens.forEach((t, i) => {
    startAt.set(t.start, i);
    endAt.set(t.end, i + 1);
  });
  const spans: TokenSpan[] = [];
  for (const e of entities) {
    const s = startAt.get(e.start);
    const en = endAt.get(e.end);
    if (s === undefined || en === undefined || en <= s) continue;
    spans.push({ start: s, end: en, type: e.type });
  }
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: TokenSpan[] = [];
  let lastEnd = 0;
  for (const sp of spans) {
    if (sp.start < lastEnd) continue;
    out.push(sp);
    lastEnd = sp.end;
  }
  return out;
}

/** Gold tags of a document in `scheme`: from its tag column when it has one, else from its entities. */
export function goldTags(doc: NerDocument, tokens: readonly Token[], scheme: TagScheme): string[] {
  const spans =
    doc.tags && doc.tags.length === tokens.length
      ? spansFromTags(doc.tags)
      : entityTokenSpans(tokens, doc.entities);
  return tagsFromSpans(tokens.length, spans, scheme);
}

export interface StrictScore extends Prf, Counts {}

/** Strict (exact span and type) micro P/R/F1 over paired documents. */
export function strictMicro(gold: readonly NerDocument[], pred: readonly NerDocument[]): StrictScore {
  const total = { tp: 0, fp: 0, fn: 0 };
  for (let i = 0; i < gold.length; i++) {
    const c = countDocument(gold[i].entities, pred[i]?.entities ?? []).total;
    total.tp += c.tp;
    total.fp += c.fp;
    total.fn += c.fn;
  }
  return { ...total, ...prf(total) };
}

/**
 * Tokenised sentences of an unlabeled corpus for the word clusters: one sentence or document per
 * line, either plain text (tokenised with `tokenize`) or a JSON object with `tokens` (strings)
 * or `text`. Blank lines are skipped; a line starting with `{` that is not valid JSON is an error.
 */
export async function readUnlabeledSentences(file: string, opts: DecodeOptions = {}): Promise<string[][]> {
  const out: string[][] = [];
  for await (const [lineNo, raw] of readLines(file, opts)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('{')) {
      let obj: { tokens?: unknown; text?: unknown };
      try {
        obj = JSON.parse(line);
      } catch (err) {
        throw new InputError(`invalid JSON (${(err as Error).message})`, file, lineNo);
      }
      if (Array.isArray(obj.tokens) && obj.tokens.every((t) => typeof t === 'string')) {
        out.push(obj.tokens as string[]);
      } else if (typeof obj.text === 'string') out.push(tokenize(obj.text).map((t) => t.text));
      else throw new InputError('a JSON line needs "tokens" (strings) or "text"', file, lineNo);
    } else out.push(tokenize(line).map((t) => t.text));
  }
  return out;
}

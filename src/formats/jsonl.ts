/**
 * The shared JSONL format: one document per line,
 * `{"id", "tokens"?, "tags"?, "text", "entities": [{"start", "end", "type", "text"}], ...}`.
 * Offsets are UTF-16 code units unless `offsets: 'codepoint'`. Other top-level keys (and a
 * `meta` object) go to `meta` and are written back at the top level.
 */
import { InputError } from '../core/errors.js';
import { OffsetMap, type OffsetUnit } from '../core/offsets.js';
import { AlignmentError, alignTokens } from '../core/tokenize.js';
import type { Entity, NerDocument, SourceVote, Token } from '../core/types.js';
import { inputName } from './decode.js';
import { fileStem, readLines } from './lines.js';
import { entitiesFromTags } from './token-spans.js';
import { checkTags, fromUtf16, IdRegistry, isRecord, makeEntity, toUtf16 } from './validate.js';

const KNOWN = new Set(['id', 'text', 'tokens', 'tags', 'entities', 'meta']);

export interface JsonlReadOptions {
  offsets?: OffsetUnit;
  /** Encoding of the file (default UTF-8, checked: see src/formats/decode.ts). */
  encoding?: string;
}

/** Parses one JSONL record (already JSON-parsed) into a document. */
export function documentFromRecord(
  rec: unknown,
  file: string,
  line: number,
  defaultId: string,
  unit: OffsetUnit,
): NerDocument {
  if (!isRecord(rec)) throw new InputError('expected a JSON object', file, line);
  if (typeof rec.text !== 'string') throw new InputError('"text" must be a string', file, line);
  const text = rec.text;
  let id = defaultId;
  if (rec.id !== undefined) {
    if (typeof rec.id !== 'string' && typeof rec.id !== 'number') {
      throw new InputError(`"id" must be a string or a number, got ${JSON.stringify(rec.id)}`, file, line);
    }
    id = String(rec.id);
  }
  const map = new OffsetMap(text);
  const doc: NerDocument = { id, text, entities: [] };

  if (rec.tokens !== undefined) doc.tokens = readTokens(rec.tokens, map, unit, file, line);
  if (rec.tags !== undefined) {
    if (!Array.isArray(rec.tags) || !rec.tags.every((t) => typeof t === 'string')) {
      throw new InputError('"tags" must be an array of strings', file, line);
    }
    if (!doc.tokens) throw new InputError('"tags" given without "tokens"', file, line);
    if (rec.tags.length !== doc.tokens.length) {
      throw new InputError(`${rec.tags.length} tags for ${doc.tokens.length} tokens`, file, line);
    }
    checkTags(rec.tags, file, () => line);
    doc.tags = rec.tags as string[];
  }

  if (rec.entities !== undefined) {
    if (!Array.isArray(rec.entities)) throw new InputError('"entities" must be an array', file, line);
    doc.entities = rec.entities.map((raw, k) => readEntity(raw, k, map, unit, file, line));
  } else if (doc.tags && doc.tokens) {
    doc.entities = entitiesFromTags(text, doc.tokens, doc.tags);
  }

  const meta: Record<string, unknown> = {};
  if (rec.meta !== undefined) {
    if (!isRecord(rec.meta)) throw new InputError('"meta" must be an object', file, line);
    Object.assign(meta, rec.meta);
  }
  for (const [k, v] of Object.entries(rec)) if (!KNOWN.has(k)) meta[k] = v;
  if (Object.keys(meta).length > 0) doc.meta = meta;
  return doc;
}

function readTokens(raw: unknown, map: OffsetMap, unit: OffsetUnit, file: string, line: number): Token[] {
  if (!Array.isArray(raw)) throw new InputError('"tokens" must be an array', file, line);
  if (raw.every((t) => typeof t === 'string')) {
    try {
      const tokens = alignTokens(map.text, raw as string[]);
      const rest = map.text.slice(tokens.length ? tokens[tokens.length - 1].end : 0);
      if (rest.trim() !== '') {
        throw new InputError(
          `"text" goes on after the last token: ${JSON.stringify(rest.slice(0, 30))}`,
          file,
          line,
        );
      }
      return tokens;
    } catch (err) {
      if (err instanceof AlignmentError)
        throw new InputError(`"tokens" do not match "text": ${err.message}`, file, line);
      throw err;
    }
  }
  return raw.map((t, i) => {
    if (!isRecord(t) || typeof t.text !== 'string') {
      throw new InputError(`token ${i} must be a string or {"text", "start", "end"}`, file, line);
    }
    const start = toUtf16(map, t.start, unit, `tokens[${i}].start`, file, line);
    const end = toUtf16(map, t.end, unit, `tokens[${i}].end`, file, line);
    if (map.text.slice(start, end) !== t.text) {
      throw new InputError(
        `tokens[${i}] ${JSON.stringify(t.text)} does not match the text at its offsets`,
        file,
        line,
      );
    }
    return { text: t.text, start, end };
  });
}

function readEntity(
  raw: unknown,
  k: number,
  map: OffsetMap,
  unit: OffsetUnit,
  file: string,
  line: number,
): Entity {
  if (!isRecord(raw)) throw new InputError(`entities[${k}] must be an object`, file, line);
  const type = raw.type ?? raw.label;
  const e = makeEntity(
    map,
    { start: raw.start, end: raw.end, type, text: raw.text },
    unit,
    `entities[${k}]`,
    file,
    line,
  );
  if (raw.score !== undefined) {
    if (typeof raw.score !== 'number')
      throw new InputError(`entities[${k}].score must be a number`, file, line);
    e.score = raw.score;
  }
  if (raw.sources !== undefined) {
    if (!Array.isArray(raw.sources))
      throw new InputError(`entities[${k}].sources must be an array`, file, line);
    e.sources = raw.sources as SourceVote[];
  }
  return e;
}

/**
 * Reads a file of one JSON object per line into documents: blank lines are skipped, a line that is
 * not JSON or a repeated id is an error with file:line. `toDoc` gets the name its errors give the
 * file (stdin for '-') and the default id `<stem>-<n>`.
 */
export async function readJsonRecords(
  file: string,
  toDoc: (rec: unknown, name: string, line: number, defaultId: string) => NerDocument,
  opts: { encoding?: string } = {},
): Promise<NerDocument[]> {
  const name = inputName(file);
  const stem = fileStem(file);
  const ids = new IdRegistry();
  const docs: NerDocument[] = [];
  for await (const [line, raw] of readLines(file, opts)) {
    if (raw.trim() === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(raw);
    } catch (err) {
      const hint = file === '-' ? ' (stdin is read as JSONL; give --from for another format)' : '';
      throw new InputError(`invalid JSON: ${(err as Error).message}${hint}`, name, line);
    }
    const doc = toDoc(rec, name, line, `${stem}-${docs.length}`);
    ids.add(doc.id, name, line);
    docs.push(doc);
  }
  return docs;
}

export async function readJsonl(file: string, options: JsonlReadOptions = {}): Promise<NerDocument[]> {
  const unit = options.offsets ?? 'utf16';
  return readJsonRecords(file, (rec, name, line, id) => documentFromRecord(rec, name, line, id, unit), {
    encoding: options.encoding,
  });
}

/** One document as a JSONL record (the shared format: tokens as strings). */
export function recordFromDocument(doc: NerDocument, unit: OffsetUnit = 'utf16'): Record<string, unknown> {
  const map = new OffsetMap(doc.text);
  const rec: Record<string, unknown> = { id: doc.id };
  if (doc.tokens) rec.tokens = doc.tokens.map((t) => t.text);
  if (doc.tags) rec.tags = doc.tags;
  rec.text = doc.text;
  rec.entities = doc.entities.map((e) => {
    const out: Record<string, unknown> = {
      start: fromUtf16(map, e.start, unit),
      end: fromUtf16(map, e.end, unit),
      type: e.type,
      text: e.text,
    };
    if (e.score !== undefined) out.score = e.score;
    if (e.sources !== undefined) out.sources = e.sources;
    return out;
  });
  if (doc.meta) {
    const nested: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc.meta)) {
      if (KNOWN.has(k)) nested[k] = v;
      else rec[k] = v;
    }
    if (Object.keys(nested).length > 0) rec.meta = nested;
  }
  return rec;
}

export function formatJsonl(docs: readonly NerDocument[], unit: OffsetUnit = 'utf16'): string {
  let out = '';
  for (const d of docs) out += `${JSON.stringify(recordFromDocument(d, unit))}\n`;
  return out;
}

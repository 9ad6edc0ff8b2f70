/**
 * A small JSONL reader for the demonstration pool (the shared data format: one sentence per
 * line with `text` and `entities` with character offsets). Used until / unless the project's
 * format readers (src/formats) are available; see readPool in index.ts.
 */
import { InputError } from '../core/errors.js';
import type { Entity, NerDocument } from '../core/types.js';
import type { DecodeOptions } from '../formats/decode.js';
import { readLines } from '../formats/lines.js';

export function parsePoolJsonl(content: string, file = '<pool>'): NerDocument[] {
  const docs: NerDocument[] = [];
  const lines = content.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const doc = parsePoolLine(lines[n], file, n + 1, docs.length);
    if (doc) docs.push(doc);
  }
  return docs;
}

/**
 * The pool file's documents, read line by line through the checked decoder (invalid UTF-8 or
 * binary data is an error with the file, line and byte offset), so a large pool is never one string.
 */
export async function readPoolFile(path: string, opts: DecodeOptions = {}): Promise<NerDocument[]> {
  const docs: NerDocument[] = [];
  for await (const [n, line] of readLines(path, opts)) {
    const doc = parsePoolLine(line, path, n, docs.length);
    if (doc) docs.push(doc);
  }
  return docs;
}

/** One line (1-based `n`) as a document, undefined when blank; `index` numbers documents without an id. */
function parsePoolLine(raw: string, file: string, n: number, index: number): NerDocument | undefined {
  const line = raw.trim();
  if (!line) return undefined;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    throw new InputError(`invalid JSON (${(err as Error).message})`, file, n);
  }
  if (typeof o !== 'object' || o === null) throw new InputError('expected a JSON object', file, n);
  const text = o.text ?? (Array.isArray(o.tokens) ? (o.tokens as string[]).join(' ') : undefined);
  if (typeof text !== 'string') throw new InputError('missing "text"', file, n);
  const rawEntities = o.entities ?? [];
  if (!Array.isArray(rawEntities)) throw new InputError('"entities" must be an array', file, n);
  const entities: Entity[] = [];
  for (const e of rawEntities as Record<string, unknown>[]) {
    const { start, end, type } = e;
    if (typeof start !== 'number' || typeof end !== 'number' || typeof type !== 'string') {
      throw new InputError('entity needs numeric start/end and a string type', file, n);
    }
    if (!(start >= 0 && end > start && end <= text.length)) {
      throw new InputError(`entity offsets ${start}-${end} outside the text`, file, n);
    }
    const etext = text.slice(start, end);
    if (typeof e.text === 'string' && e.text !== etext) {
      throw new InputError(
        `entity text "${e.text}" does not match the text at ${start}-${end} ("${etext}")`,
        file,
        n,
      );
    }
    entities.push({ start, end, type, text: etext });
  }
  const doc: NerDocument = {
    id: typeof o.id === 'string' ? o.id : String(o.id ?? `${index}`),
    text,
    entities,
  };
  // Token strings (the shared data) get their offsets back when the text is the tokens joined by spaces.
  if (Array.isArray(o.tokens) && (o.tokens as unknown[]).every((t) => typeof t === 'string')) {
    const toks = o.tokens as string[];
    if (toks.join(' ') === text) {
      let at = 0;
      doc.tokens = toks.map((t) => {
        const tok = { text: t, start: at, end: at + t.length };
        at += t.length + 1;
        return tok;
      });
    }
  }
  if (Array.isArray(o.tags)) doc.tags = o.tags as string[];
  return doc;
}

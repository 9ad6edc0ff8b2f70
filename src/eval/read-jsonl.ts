/**
 * A minimal reader for the project's JSONL documents (`{"id","text","entities",["tokens","tags"]}`
 * one per line), used by `el4ner score` while no general reader is available in src/formats.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import { AlignmentError, alignTokens } from '../core/tokenize.js';
import type { Entity, NerDocument, Token } from '../core/types.js';

function parseEntity(raw: unknown, text: string, file: string, line: number): Entity {
  const e = raw as Partial<Entity> | null;
  if (!e || typeof e !== 'object' || !Number.isInteger(e.start) || !Number.isInteger(e.end) || typeof e.type !== 'string') {
    throw new InputError('each entity needs integer "start", "end" and a string "type"', file, line);
  }
  const start = e.start as number;
  const end = e.end as number;
  if (start < 0 || end <= start || end > text.length) {
    throw new InputError(`entity ${start}-${end} is outside the text (length ${text.length})`, file, line);
  }
  const slice = text.slice(start, end);
  if (e.text !== undefined && e.text !== slice) {
    throw new InputError(
      `entity ${start}-${end} says ${JSON.stringify(e.text)} but the text there is ${JSON.stringify(slice)}`,
      file,
      line,
    );
  }
  const out: Entity = { start, end, type: e.type, text: slice };
  if (typeof e.score === 'number') out.score = e.score;
  return out;
}

export function parseJsonlDocuments(content: string, file: string): NerDocument[] {
  const docs: NerDocument[] = [];
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const src = lines[i].trim();
    if (src === '') continue;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(src);
    } catch (err) {
      throw new InputError(`invalid JSON (${(err as Error).message})`, file, lineNo);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new InputError('expected a JSON object', file, lineNo);
    const id = typeof obj.id === 'string' || typeof obj.id === 'number' ? String(obj.id) : undefined;
    if (id === undefined) throw new InputError('missing "id"', file, lineNo);
    if (typeof obj.text !== 'string') throw new InputError('missing "text"', file, lineNo);
    const text = obj.text;
    const rawEntities = obj.entities ?? [];
    if (!Array.isArray(rawEntities)) throw new InputError('"entities" must be an array', file, lineNo);
    const doc: NerDocument = { id, text, entities: rawEntities.map((e) => parseEntity(e, text, file, lineNo)) };
    if (Array.isArray(obj.tokens) && obj.tokens.length > 0) {
      if (obj.tokens.every((t) => typeof t === 'string')) {
        try {
          doc.tokens = alignTokens(text, obj.tokens as string[]);
        } catch (err) {
          if (err instanceof AlignmentError) throw new InputError(err.message, file, lineNo);
          throw err;
        }
      } else doc.tokens = obj.tokens as Token[];
    }
    if (Array.isArray(obj.tags)) doc.tags = obj.tags as string[];
    docs.push(doc);
  }
  return docs;
}

export async function readJsonlDocuments(file: string): Promise<NerDocument[]> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, file);
  }
  return parseJsonlDocuments(content, file);
}

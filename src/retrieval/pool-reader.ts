/**
 * A small JSONL reader for the demonstration pool (the shared data format: one sentence per
 * line with `text` and `entities` with character offsets). Used until / unless the project's
 * format readers (src/formats) are available; see readPool in index.ts.
 */
import { readFile } from 'node:fs/promises';
import { InputError } from '../core/errors.js';
import type { Entity, NerDocument } from '../core/types.js';

export function parsePoolJsonl(content: string, file = '<pool>'): NerDocument[] {
  const docs: NerDocument[] = [];
  const lines = content.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (!line) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (err) {
      throw new InputError(`invalid JSON (${(err as Error).message})`, file, n + 1);
    }
    if (typeof o !== 'object' || o === null) throw new InputError('expected a JSON object', file, n + 1);
    const text = o.text ?? (Array.isArray(o.tokens) ? (o.tokens as string[]).join(' ') : undefined);
    if (typeof text !== 'string') throw new InputError('missing "text"', file, n + 1);
    const rawEntities = o.entities ?? [];
    if (!Array.isArray(rawEntities)) throw new InputError('"entities" must be an array', file, n + 1);
    const entities: Entity[] = [];
    for (const e of rawEntities as Record<string, unknown>[]) {
      const { start, end, type } = e;
      if (typeof start !== 'number' || typeof end !== 'number' || typeof type !== 'string') {
        throw new InputError('entity needs numeric start/end and a string type', file, n + 1);
      }
      if (!(start >= 0 && end > start && end <= text.length)) {
        throw new InputError(`entity offsets ${start}-${end} outside the text`, file, n + 1);
      }
      const etext = text.slice(start, end);
      if (typeof e.text === 'string' && e.text !== etext) {
        throw new InputError(
          `entity text "${e.text}" does not match the text at ${start}-${end} ("${etext}")`,
          file,
          n + 1,
        );
      }
      entities.push({ start, end, type, text: etext });
    }
    const doc: NerDocument = {
      id: typeof o.id === 'string' ? o.id : String(o.id ?? `${docs.length}`),
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
    docs.push(doc);
  }
  return docs;
}

export async function readPoolFile(path: string): Promise<{ docs: NerDocument[]; content: string }> {
  const content = await readFile(path, 'utf8');
  return { docs: parsePoolJsonl(content, path), content };
}

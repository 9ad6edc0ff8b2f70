/**
 * spaCy-style JSONL: `{"text", "ents"|"spans"|"entities": [...]}` per line, each entity either
 * `{"start", "end", "label"}` or a `[start, end, label]` tuple (spaCy's training data);
 * `["text", {"entities": [[start, end, label], ...]}]` lines are accepted too. Offsets are code
 * points by default (Python string indices). Writing gives `{"id", "text", "ents"}`.
 */
import { InputError } from '../core/errors.js';
import { OffsetMap, type OffsetUnit } from '../core/offsets.js';
import type { Entity, NerDocument } from '../core/types.js';
import { readJsonRecords } from './jsonl.js';
import { fromUtf16, isRecord, makeEntity } from './validate.js';

const ENTITY_KEYS = ['ents', 'spans', 'entities'] as const;

function readSpan(
  raw: unknown,
  what: string,
  map: OffsetMap,
  unit: OffsetUnit,
  file: string,
  line: number,
): Entity {
  if (Array.isArray(raw)) {
    if (raw.length < 3) throw new InputError(`${what} must be [start, end, label]`, file, line);
    return makeEntity(map, { start: raw[0], end: raw[1], type: raw[2] }, unit, what, file, line);
  }
  if (!isRecord(raw))
    throw new InputError(`${what} must be an object or a [start, end, label] array`, file, line);
  return makeEntity(
    map,
    { start: raw.start, end: raw.end, type: raw.label ?? raw.type, text: raw.text },
    unit,
    what,
    file,
    line,
  );
}

/** Parses one spaCy-style record into a document. */
export function documentFromSpacyRecord(
  rec: unknown,
  file: string,
  line: number,
  defaultId: string,
  unit: OffsetUnit,
): NerDocument {
  let obj: Record<string, unknown>;
  if (Array.isArray(rec)) {
    if (rec.length !== 2 || typeof rec[0] !== 'string' || !isRecord(rec[1])) {
      throw new InputError('expected ["text", {"entities": [...]}]', file, line);
    }
    obj = { ...rec[1], text: rec[0] };
  } else if (isRecord(rec)) obj = rec;
  else throw new InputError('expected a JSON object', file, line);
  if (typeof obj.text !== 'string') throw new InputError('"text" must be a string', file, line);
  const map = new OffsetMap(obj.text);
  const present = ENTITY_KEYS.filter((k) => obj[k] !== undefined);
  if (present.length > 1) {
    throw new InputError(
      `both ${present.map((k) => `"${k}"`).join(' and ')} are given; which holds the entities is unclear`,
      file,
      line,
    );
  }
  const key = present[0];
  let entities: Entity[] = [];
  if (key) {
    const list = obj[key];
    if (!Array.isArray(list)) throw new InputError(`"${key}" must be an array`, file, line);
    entities = list.map((raw, k) => readSpan(raw, `${key}[${k}]`, map, unit, file, line));
  }
  let id = defaultId;
  if (obj.id !== undefined) {
    if (typeof obj.id !== 'string' && typeof obj.id !== 'number')
      throw new InputError('"id" must be a string or a number', file, line);
    id = String(obj.id);
  }
  const doc: NerDocument = { id, text: obj.text, entities };
  const meta: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (k !== 'id' && k !== 'text' && k !== key) meta[k] = v;
  if (Object.keys(meta).length > 0) doc.meta = meta;
  return doc;
}

export async function readSpacy(
  file: string,
  options: { offsets?: OffsetUnit; encoding?: string } = {},
): Promise<NerDocument[]> {
  const unit = options.offsets ?? 'codepoint';
  return readJsonRecords(file, (rec, name, line, id) => documentFromSpacyRecord(rec, name, line, id, unit), {
    encoding: options.encoding,
  });
}

export function formatSpacy(docs: readonly NerDocument[], unit: OffsetUnit = 'codepoint'): string {
  let out = '';
  for (const d of docs) {
    const map = new OffsetMap(d.text);
    const ents = d.entities.map((e) => ({
      start: fromUtf16(map, e.start, unit),
      end: fromUtf16(map, e.end, unit),
      label: e.type,
    }));
    out += `${JSON.stringify({ id: d.id, text: d.text, ents })}\n`;
  }
  return out;
}

import { InputError } from '../core/errors.js';
import { OffsetError, type OffsetMap, type OffsetUnit } from '../core/offsets.js';
import { splitTag, TagError } from '../core/tags.js';
import type { Entity } from '../core/types.js';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Converts an offset given in `unit` to UTF-16 (throws InputError at file:line when it is out
 * of range or, for UTF-16, not an integer or inside a surrogate pair).
 */
export function toUtf16(
  map: OffsetMap,
  value: unknown,
  unit: OffsetUnit,
  what: string,
  file: string,
  line: number,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InputError(`${what} must be an integer, got ${JSON.stringify(value)}`, file, line);
  }
  try {
    const u16 = unit === 'codepoint' ? map.fromCodePoint(value) : value;
    map.toCodePoint(u16); // range and surrogate check
    return u16;
  } catch (err) {
    if (err instanceof OffsetError)
      throw new InputError(`${what}: ${err.message} (${unit} offsets)`, file, line);
    throw err;
  }
}

/** Converts a UTF-16 offset to the unit a file uses. */
export function fromUtf16(map: OffsetMap, value: number, unit: OffsetUnit): number {
  return unit === 'codepoint' ? map.toCodePoint(value) : value;
}

/**
 * Builds an entity from start/end/type after converting offsets, and checks that
 * `text.slice(start, end)` equals the entity text given in the file (when it gives one).
 */
export function makeEntity(
  map: OffsetMap,
  raw: { start: unknown; end: unknown; type: unknown; text?: unknown },
  unit: OffsetUnit,
  what: string,
  file: string,
  line: number,
): Entity {
  const start = toUtf16(map, raw.start, unit, `${what}.start`, file, line);
  const end = toUtf16(map, raw.end, unit, `${what}.end`, file, line);
  if (end <= start)
    throw new InputError(
      `${what}: end ${String(raw.end)} is not after start ${String(raw.start)}`,
      file,
      line,
    );
  if (typeof raw.type !== 'string' || raw.type === '') {
    throw new InputError(
      `${what}: type must be a non-empty string, got ${JSON.stringify(raw.type)}`,
      file,
      line,
    );
  }
  const text = map.text.slice(start, end);
  if (raw.text !== undefined && raw.text !== text) {
    throw new InputError(
      `${what}: text ${JSON.stringify(raw.text)} does not match text.slice(${String(raw.start)}, ${String(raw.end)}) = ${JSON.stringify(text)}` +
        (unit === 'utf16'
          ? ' (offsets are read as UTF-16 code units; use offsets: codepoint for Python offsets)'
          : ''),
      file,
      line,
    );
  }
  return { start, end, type: raw.type, text };
}

/** Validates every tag, turning a TagError into an InputError at file:line. */
export function checkTags(
  tags: readonly string[],
  file: string,
  lineOf: (tokenIndex: number) => number,
): void {
  for (let i = 0; i < tags.length; i++) {
    try {
      splitTag(tags[i], i);
    } catch (err) {
      if (err instanceof TagError) throw new InputError(err.message, file, lineOf(i));
      throw err;
    }
  }
}

/** Tracks ids within one input and rejects duplicates. */
export class IdRegistry {
  private readonly seen = new Map<string, string>();

  add(id: string, file: string, line: number): void {
    const prev = this.seen.get(id);
    if (prev !== undefined)
      throw new InputError(`duplicate document id ${JSON.stringify(id)} (first at ${prev})`, file, line);
    this.seen.set(id, `${file}:${line}`);
  }
}

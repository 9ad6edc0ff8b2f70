/** Long input: documents are cut into sentences / chunks of at most `maxChars`; offsets map back. */
import { splitSentences } from '../core/sentences.js';

export interface Chunk {
  /** Offset of the chunk in its document. */
  start: number;
  text: string;
}

/** A document that fits in `maxChars` stays whole (the model keeps all its context); else sentences. */
export function chunkText(text: string, maxChars: number): Chunk[] {
  if (text.trim().length === 0) return [];
  if (text.length <= maxChars) return [{ start: 0, text }];
  return splitSentences(text, { maxChars }).map((s) => ({
    start: s.start,
    text: text.slice(s.start, s.end),
  }));
}

/** Moves chunk-relative offsets to document offsets. */
export function shift<T extends { start: number; end: number }>(items: readonly T[], by: number): T[] {
  return by === 0 ? [...items] : items.map((x) => ({ ...x, start: x.start + by, end: x.end + by }));
}

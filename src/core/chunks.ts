/**
 * The one chunking policy for long input (every method uses it): a document that fits in
 * `maxChars` stays whole, so the model keeps all its context; a longer one is cut into whole
 * sentences packed greedily up to `maxChars` (a single sentence longer than that is cut by the
 * sentence splitter at a clause, space or grapheme boundary). Offsets map back exactly.
 */
import { splitSentences } from './sentences.js';
import type { Token } from './types.js';

export interface Chunk {
  /** Offset of the chunk in its document. */
  start: number;
  text: string;
}

export function chunkText(text: string, maxChars: number): Chunk[] {
  if (text.trim().length === 0) return [];
  if (text.length <= maxChars) return [{ start: 0, text }];
  const pieces: Array<{ start: number; end: number }> = [];
  for (const s of splitSentences(text, { maxChars })) {
    const cur = pieces.at(-1);
    if (cur && s.end - cur.start <= maxChars) cur.end = s.end;
    else pieces.push({ start: s.start, end: s.end });
  }
  return pieces.map((p) => ({ start: p.start, text: text.slice(p.start, p.end) }));
}

/** Moves chunk-relative offsets to document offsets. */
export function shift<T extends { start: number; end: number }>(items: readonly T[], by: number): T[] {
  return by === 0 ? [...items] : items.map((x) => ({ ...x, start: x.start + by, end: x.end + by }));
}

/**
 * Token ranges of the chunks of a tokenised document (the fusion's LLM pieces, a long document
 * tagged by a supervised tagger). A token belongs to the chunk its first character is in, so pieces
 * never split a token.
 */
export function chunkTokens(
  text: string,
  tokens: readonly Token[],
  maxChars: number,
): Array<{ first: number; last: number }> {
  if (tokens.length === 0) return [];
  const ranges: Array<{ first: number; last: number }> = [];
  let t = 0;
  for (const c of chunkText(text, maxChars)) {
    const end = c.start + c.text.length;
    const first = t;
    while (t < tokens.length && tokens[t].start < end) t++;
    if (t > first) ranges.push({ first, last: t });
  }
  if (t < tokens.length) {
    const last = ranges.at(-1);
    if (last) last.last = tokens.length;
    else ranges.push({ first: t, last: tokens.length });
  }
  return ranges;
}

/**
 * The text a model sees for a chunk. Chinese and Japanese corpora are often stored one character
 * per token with spaces in between (`李 开 复 在 北 京`, the shared data's convention: the natural
 * string is the tokens joined without spaces). A model reads such text badly, so the prompts get
 * the natural, unspaced string and every offset is mapped back exactly.
 *
 * A text counts as character-spaced when it holds Han or Kana characters and at least 90% of its
 * space-separated pieces are single characters; then every single space between two non-space
 * characters is dropped (line breaks and longer runs of spaces stay). Any other text is seen as
 * it is. Korean, which spaces its words, is never touched (its pieces are whole words).
 */
import type { NerDocument, Span } from '../core/types.js';

const HAN_KANA = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]/u;

export interface ModelText {
  /** What the model sees. */
  readonly text: string;
  /** The text as given. */
  readonly source: string;
  /** False when `text === source`. */
  readonly changed: boolean;
  /** A span of `text` as a span of `source`. */
  toSource(span: { start: number; end: number }): Span;
  /** A span of `source` as a span of `text` (its ends lie on characters the model sees). */
  toModel(span: { start: number; end: number }): Span;
}

function identity(text: string): ModelText {
  const same = (s: { start: number; end: number }): Span => ({
    start: s.start,
    end: s.end,
    text: text.slice(s.start, s.end),
  });
  return { text, source: text, changed: false, toSource: same, toModel: same };
}

/** Whether `text` is written one character per space-separated piece (see the file comment). */
export function isCharacterSpaced(text: string): boolean {
  if (!HAN_KANA.test(text)) return false;
  const pieces = text.split(/\s+/).filter(Boolean);
  if (pieces.length < 2) return false;
  const single = pieces.filter((p) => [...p].length === 1).length;
  return single >= 0.9 * pieces.length;
}

export function modelText(source: string): ModelText {
  if (!isCharacterSpaced(source)) return identity(source);
  let text = '';
  /** toSrc[i] = index in `source` of character i of `text`. */
  const toSrc: number[] = [];
  /** toMod[j] = index in `text` of character j of `source`, -1 for a dropped space. */
  const toMod = new Int32Array(source.length).fill(-1);
  for (let j = 0; j < source.length; j++) {
    const c = source[j];
    const dropped =
      c === ' ' && j > 0 && j + 1 < source.length && !/\s/.test(source[j - 1]) && !/\s/.test(source[j + 1]);
    if (dropped) continue;
    toMod[j] = text.length;
    toSrc.push(j);
    text += c;
  }
  return {
    text,
    source,
    changed: true,
    toSource(s) {
      if (s.end <= s.start) {
        const at = s.start < toSrc.length ? toSrc[s.start] : source.length;
        return { start: at, end: at, text: '' };
      }
      const start = toSrc[s.start];
      const end = toSrc[s.end - 1] + 1;
      return { start, end, text: source.slice(start, end) };
    },
    toModel(s) {
      let a = s.start;
      while (a < s.end && toMod[a] < 0) a++;
      let b = s.end - 1;
      while (b >= a && toMod[b] < 0) b--;
      if (b < a) {
        const at = a < source.length ? Math.max(0, toMod[a]) : text.length;
        return { start: at, end: at, text: '' };
      }
      const start = toMod[a];
      const end = toMod[b] + 1;
      return { start, end, text: text.slice(start, end) };
    },
  };
}

/** A pool document as the model sees it (its entities moved to the unspaced text). */
export function modelDocument(doc: NerDocument): NerDocument {
  const mt = modelText(doc.text);
  if (!mt.changed) return doc;
  // token offsets and tags index the spaced text: they do not describe the model's text
  const { tokens: _tokens, tags: _tags, ...rest } = doc;
  return { ...rest, text: mt.text, entities: doc.entities.map((e) => ({ ...e, ...mt.toModel(e) })) };
}

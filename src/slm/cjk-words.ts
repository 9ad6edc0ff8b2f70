/**
 * Chinese words for the CRF's character features: the shared Chinese data (and Chinese text
 * tokenised by el4ner) has one token per character, so the tagger never sees where words begin
 * and end. jieba (the jieba-rs segmenter compiled to WebAssembly, npm `jieba-wasm`) segments the
 * sentence and tags each word's part of speech (jieba's tag set: nr person name, ns place, nt
 * organisation, n noun, v verb, ...); each character token then learns its place in its word
 * (B/M/E/S), that place with the word's tag, and the word itself.
 */
import { createRequire } from 'node:module';

interface Jieba {
  tag(sentence: string, hmm?: boolean): Array<{ word: string; tag: string }>;
}

let jieba: Jieba | undefined;

function segmenter(): Jieba {
  if (!jieba) {
    try {
      jieba = createRequire(import.meta.url)('jieba-wasm') as Jieba;
    } catch (e) {
      throw new Error(
        `the Chinese word features need the package jieba-wasm (npm install jieba-wasm): ${(e as Error).message}`,
      );
    }
  }
  return jieba;
}

export interface CjkWord {
  /** The token's place in its word: B(egin), M(iddle), E(nd) or S(ingle). */
  place: 'B' | 'M' | 'E' | 'S';
  /** The word's part of speech (jieba's tag set). */
  tag: string;
  word: string;
}

/**
 * The word of each token in a sentence of tokens joined without spaces, or undefined for a
 * token that does not sit inside one word (a token jieba split, or one it joined across).
 */
export function cjkWords(tokens: readonly string[]): Array<CjkWord | undefined> {
  const out: Array<CjkWord | undefined> = tokens.map(() => undefined);
  if (tokens.length === 0) return out;
  const starts: number[] = [];
  let at = 0;
  for (const t of tokens) {
    starts.push(at);
    at += t.length;
  }
  const tokenAt = new Map(starts.map((s, i) => [s, i]));
  let offset = 0;
  for (const { word, tag } of segmenter().tag(tokens.join(''), true)) {
    const first = tokenAt.get(offset);
    const end = offset + word.length;
    offset = end;
    if (first === undefined) continue;
    let last = first;
    while (last + 1 < tokens.length && starts[last + 1] < end) last++;
    if (starts[last] + tokens[last].length !== end) continue;
    for (let i = first; i <= last; i++) {
      const place = first === last ? 'S' : i === first ? 'B' : i === last ? 'E' : 'M';
      out[i] = { place, tag, word };
    }
  }
  return out;
}

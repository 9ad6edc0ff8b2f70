/**
 * From subword predictions back to the words (or CJK characters) of the text.
 *
 * A word takes the distribution of its first subword; the others only continue it. A CJK
 * character split into several tokens (byte-level BPE splits most Han characters into 2-3 byte
 * tokens) follows the fusion paper's label table, which gives each token of the character a tag:
 *
 *   character  B -> B M ... M      M -> M ... M      E -> M ... M E      S -> B M ... M E
 *
 * (I in place of M for BIOES; for BIO, B -> B I ..., I -> I ...). Reading it backwards, the
 * character starts an entity when its first token does and ends one when its last token does,
 * so its distribution combines the first token's (does it start?) with the last token's (does it
 * end?); see `characterDistribution`.
 */
import { splitTag } from '../../core/tags.js';
import type { TagScheme } from '../../core/types.js';

const CJK_CHARACTER = /^[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]$/u;

/** One Han, Kana or Hangul character (the project tokenizer's one-character CJK tokens). */
export function isCjkCharacter(word: string): boolean {
  return CJK_CHARACTER.test(word);
}

/** The scheme's inside letter: M for BMES, I otherwise. */
function insideOf(scheme: TagScheme): string {
  return scheme === 'BMES' ? 'M' : 'I';
}

function hasEnds(scheme: TagScheme): boolean {
  return scheme === 'BIOES' || scheme === 'BMES';
}

/** The label table: the tags of the `n` tokens of a character tagged `tag`. */
export function tokenTagsOfCharacter(tag: string, n: number, scheme: TagScheme): string[] {
  if (n <= 1 || tag === 'O') return new Array(Math.max(n, 1)).fill(tag);
  const [prefix, type] = splitTag(tag);
  const inside = `${insideOf(scheme)}-${type}`;
  const out = new Array<string>(n).fill(inside);
  if (prefix === 'B' || prefix === 'S') out[0] = `B-${type}`;
  if (hasEnds(scheme) && (prefix === 'E' || prefix === 'S')) out[n - 1] = `E-${type}`;
  return out;
}

/**
 * The distribution of a character whose first and last tokens have distributions `first` and
 * `last` over `labels` (BIOES/BMES): for each type T,
 *   P(S-T) ~ start(T) end(T), P(B-T) ~ start(T) open(T), P(E-T) ~ cont(T) end(T), P(M-T) ~ cont(T) open(T),
 * with start = P1(B or S), cont = P1(M or E), end = Pn(E or S), open = Pn(B or M), and P(O) ~ P1(O) Pn(O);
 * normalised to sum to 1. One-hot token tags that follow the table give the character's tag back.
 */
export function characterDistribution(
  first: Float64Array,
  last: Float64Array,
  labels: readonly string[],
  scheme: TagScheme,
): Float64Array {
  if (!hasEnds(scheme)) return first;
  const inside = insideOf(scheme);
  const index = new Map(labels.map((l, i) => [l, i]));
  const p = (dist: Float64Array, prefix: string, type: string) => {
    const i = index.get(`${prefix}-${type}`);
    return i === undefined ? 0 : dist[i];
  };
  const out = new Float64Array(labels.length);
  labels.forEach((label, i) => {
    if (label === 'O') {
      out[i] = first[i] * last[i];
      return;
    }
    const [prefix, type] = splitTag(label);
    const start = p(first, 'B', type) + p(first, 'S', type);
    const cont = p(first, inside, type) + p(first, 'E', type);
    const end = p(last, 'E', type) + p(last, 'S', type);
    const open = p(last, 'B', type) + p(last, inside, type);
    if (prefix === 'S') out[i] = start * end;
    else if (prefix === 'B') out[i] = start * open;
    else if (prefix === 'E') out[i] = cont * end;
    else out[i] = cont * open;
  });
  let sum = 0;
  for (const v of out) sum += v;
  if (!(sum > 0)) return first;
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

export interface WordPieces {
  /** Subword ids of the whole sentence, word after word. */
  ids: number[];
  /** Per word: its first subword position and how many it has (0 when the tokenizer erased it). */
  first: Int32Array;
  count: Int32Array;
}

export function wordPieces(
  words: readonly string[],
  encodeWord: (w: string) => readonly number[],
): WordPieces {
  const ids: number[] = [];
  const first = new Int32Array(words.length);
  const count = new Int32Array(words.length);
  words.forEach((w, i) => {
    const piece = encodeWord(w);
    first[i] = ids.length;
    count[i] = piece.length;
    for (const id of piece) ids.push(id);
  });
  return { ids, first, count };
}

/**
 * Per word, its distribution over `labels` from the subword distributions `piece(p)`: the first
 * subword's; for a CJK character of several tokens, `characterDistribution`; for a word without
 * subwords, certainty of 'O'.
 */
export function wordDistributions(
  words: readonly string[],
  pieces: WordPieces,
  piece: (position: number) => Float64Array,
  labels: readonly string[],
  scheme: TagScheme,
): Float64Array[] {
  const outside = Math.max(0, labels.indexOf('O'));
  return words.map((w, i) => {
    const n = pieces.count[i];
    if (n === 0) {
      const d = new Float64Array(labels.length);
      d[outside] = 1;
      return d;
    }
    const first = piece(pieces.first[i]);
    if (n === 1 || !isCjkCharacter(w)) return first;
    return characterDistribution(first, piece(pieces.first[i] + n - 1), labels, scheme);
  });
}

/** Softmax of `logits[offset .. offset + n)` in float64. */
export function softmax(logits: Float32Array, offset: number, n: number): Float64Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < n; k++) if (logits[offset + k] > max) max = logits[offset + k];
  const out = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    out[k] = Math.exp(logits[offset + k] - max);
    sum += out[k];
  }
  for (let k = 0; k < n; k++) out[k] /= sum;
  return out;
}

export function argmax(d: Float64Array): number {
  let best = 0;
  for (let k = 1; k < d.length; k++) if (d[k] > d[best]) best = k;
  return best;
}

/**
 * Document context: what the documents around a document (in input order) show of its words.
 * The CRF's non-local features read it (src/slm/context.ts): a capitalised word written in lower
 * case nearby is likely a common word; a word of an all-caps headline capitalised mid-sentence
 * nearby is likely a name; the words around its other mentions ("Ladki said") hint at its type.
 *
 * It is computed once from the whole input (`attachDocumentContext`, where `run`, `enqueue` and
 * `tag-slm` read their input) and travels with each document, so a queue worker tagging one
 * document, a resumed run and a run of the whole file all see the same context. A document
 * without one (a library call, a server request) gets it from the list it came in.
 *
 * Only tokens are read, never tags or entities. Input that is one sentence per line (CoNLL-2003,
 * the shared data) keeps a document's sentences together, so the neighbours are mostly the same
 * news story; where lines are unrelated (queries) the CRF learns to give the features little
 * weight.
 */
import { documentTokens } from './tokenize.js';
import type { Token } from './types.js';

/** Documents on each side the context reaches. */
export const CONTEXT_REACH = 16;

/** Neighbour words kept per word and side. */
export const MAX_NEIGHBOURS = 8;

/** Where the neighbouring documents show one word (by lower-cased form); distances in documents. */
export interface WordSightings {
  /** Nearest distance of any mention. */
  near: number;
  /** Nearest distance at which it is written all lower case. */
  lower?: number;
  /** ... capitalised inside a sentence (not first, not in an all-caps sentence). */
  title?: number;
  /** ... capitalised outside an all-caps sentence. */
  cap?: number;
  /** The words before / after those capitalised mentions, nearest first (at most 8, no repeats). */
  prev?: [word: string, distance: number][];
  next?: [word: string, distance: number][];
}

export interface DocumentContext {
  /** Per lower-cased word of this document (words without a cased letter left out). */
  words: Record<string, WordSightings>;
}

const UPPER = /\p{Lu}/u;
const LOWER = /\p{Ll}/u;
const LETTER = /\p{L}/u;
/** Words with a letter that has case; caseless words (CJK characters) show nothing of how they are written. */
const CASED = /[\p{Lu}\p{Ll}\p{Lt}]/u;

interface Mention {
  key: string;
  lower: boolean;
  title: boolean;
  /** Capitalised outside an all-caps sentence: prev and next are set. */
  prev?: string;
  next?: string;
}

/** An all-caps sentence (a headline): more than 80% of its words with letters are all upper case. */
export function isCapsHeadline(tokens: readonly string[]): boolean {
  let letters = 0;
  let caps = 0;
  for (const t of tokens) {
    if (!LETTER.test(t)) continue;
    letters++;
    if (UPPER.test(t) && !LOWER.test(t)) caps++;
  }
  return letters >= 2 && caps / letters > 0.8;
}

function mentionsOf(tokens: readonly string[]): Mention[] {
  const headline = isCapsHeadline(tokens);
  const out: Mention[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (!CASED.test(t)) continue;
    const upper = UPPER.test(t);
    const m: Mention = {
      key: t.toLowerCase(),
      lower: !upper && LOWER.test(t),
      title: upper && i > 0 && !headline && LOWER.test(t),
    };
    if (upper && !headline) {
      m.prev = i > 0 ? tokens[i - 1].toLowerCase() : '<s>';
      m.next = i + 1 < tokens.length ? tokens[i + 1].toLowerCase() : '</s>';
    }
    out.push(m);
  }
  return out;
}

/** The context of each of a sequence of token lists (each one document). */
export function documentContexts(
  sentences: readonly (readonly string[])[],
  reach = CONTEXT_REACH,
): DocumentContext[] {
  const mentions = sentences.map(mentionsOf);
  // word -> the documents mentioning it, ascending (each listed once).
  const where = new Map<string, number[]>();
  mentions.forEach((ms, j) => {
    for (const m of ms) {
      const list = where.get(m.key);
      if (!list) where.set(m.key, [j]);
      else if (list[list.length - 1] !== j) list.push(j);
    }
  });
  return mentions.map((ms, i) => {
    const words: Record<string, WordSightings> = {};
    for (const { key } of ms) {
      if (Object.hasOwn(words, key)) continue;
      const s = sightings(key, i, where.get(key) ?? [], mentions, reach);
      if (s) words[key] = s;
    }
    return { words };
  });
}

function sightings(
  key: string,
  i: number,
  docs: readonly number[],
  mentions: readonly Mention[][],
  reach: number,
): WordSightings | undefined {
  // Neighbours nearest first; at equal distance the earlier one first.
  const near: number[] = [];
  for (const j of docs) if (j !== i && Math.abs(j - i) <= reach) near.push(j);
  if (near.length === 0) return undefined;
  near.sort((a, b) => Math.abs(a - i) - Math.abs(b - i) || a - b);
  const s: WordSightings = { near: Math.abs(near[0] - i) };
  const prev = new Map<string, number>();
  const next = new Map<string, number>();
  for (const j of near) {
    const d = Math.abs(j - i);
    for (const m of mentions[j]) {
      if (m.key !== key) continue;
      if (m.lower) s.lower ??= d;
      if (m.title) s.title ??= d;
      if (m.prev === undefined || m.next === undefined) continue;
      s.cap ??= d;
      if (prev.size < MAX_NEIGHBOURS && !prev.has(m.prev)) prev.set(m.prev, d);
      if (next.size < MAX_NEIGHBOURS && !next.has(m.next)) next.set(m.next, d);
    }
  }
  if (prev.size) s.prev = [...prev];
  if (next.size) s.next = [...next];
  return s;
}

/**
 * The documents with their context from this list's order (a document that has one keeps it).
 * Returns new objects; the input is not changed.
 */
export function attachDocumentContext<
  T extends { text: string; tokens?: Token[]; context?: DocumentContext },
>(docs: readonly T[]): T[] {
  if (docs.every((d) => d.context)) return [...docs];
  // a document alone has no neighbours: its context is empty (and its text need not be tokenised
  // here, which for a long text would hold the event loop before the tagger's first chunk)
  if (docs.length === 1) return [{ ...docs[0], context: { words: {} } }];
  const contexts = documentContexts(docs.map((d) => documentTokens(d).map((t) => t.text)));
  return docs.map((d, i) => (d.context ? d : { ...d, context: contexts[i] }));
}

/**
 * A rule-based tokenizer with exact offsets (UTF-16 code units, end exclusive).
 *
 * The text is walked grapheme by grapheme (`Intl.Segmenter`), so a token boundary never falls
 * inside a surrogate pair, a base character and its combining marks, an emoji ZWJ sequence,
 * a skin-tone modifier or a flag.
 *
 * - Words and numbers are runs of letters, marks and digits; `'`, `’`, `-`, `_`, `·` join two
 *   such runs (`O'Brien`, `Italian-born`); `.` and `,` join digits (`3.14`, `1,000`); single
 *   letters joined by periods are one abbreviation that keeps its final period (`U.S.`, `e.g.`).
 * - Han, Hiragana, Katakana and Hangul characters are one token each.
 * - Each emoji (one grapheme) is one token.
 * - Any other character (punctuation, symbols) is a token; a run of the same character
 *   (`...`, `--`, `!!`) is one token.
 */
import type { Token } from './types.js';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

const WORD_START = /^[\p{L}\p{N}\p{M}]/u;
const CJK = /^[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]/u;
const CJK_SYMBOL_OR_PUNCT = /^[\p{P}\p{S}]/u;
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3|\ufe0f/u;
const SPACE = /^\s+$/u;
const JOINERS = new Set(["'", '’', '-', '_', '.', ',', '·']);
const DOTTED_ABBREVIATION = /^(?:\p{L}\.)+\p{L}$/u;

type Kind = 'space' | 'word' | 'cjk' | 'emoji' | 'other';

function kindOf(g: string): Kind {
  if (SPACE.test(g)) return 'space';
  // A grapheme with an emoji code point (pictograph, flag letter, keycap, VS16) is an emoji:
  // checked before words so that `1️⃣` is not read as the digit 1.
  if (EMOJI.test(g) && !WORD_START.test(g)) return 'emoji';
  if (EMOJI.test(g) && g.length > 1) return 'emoji';
  if (CJK.test(g) && !CJK_SYMBOL_OR_PUNCT.test(g)) return 'cjk';
  if (WORD_START.test(g)) return 'word';
  return 'other';
}

interface Grapheme {
  text: string;
  start: number;
  kind: Kind;
}

const CHUNK = 1024;
const SAFE_BEFORE = /[ \t\n\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const SAFE_AFTER = /[\p{L}\p{N}\p{P}\p{Zs}\n\t]/u;
// Hangul jamo and the two letters that are grapheme SpacingMarks (Thai and Lao AM) join the character before them.
const JAMO = /[\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\u0e33\u0eb3]/;

/**
 * Where a long text may be cut for segmentation: between a space (or a Han/Kana character)
 * and a BMP letter, digit, punctuation or space that is no combining mark or Hangul jamo, so
 * no grapheme cluster can span the cut. (V8's grapheme segmenter slows down sharply on long
 * strings, so long texts are segmented in chunks.)
 */
function safeCut(text: string, from: number): number {
  const limit = Math.min(text.length, from + 8 * CHUNK);
  for (let i = from; i < limit; i++) {
    const before = text[i - 1];
    const after = text[i];
    if (SAFE_BEFORE.test(before) && SAFE_AFTER.test(after) && !JAMO.test(after)) return i;
  }
  return text.length;
}

/** Grapheme clusters with their UTF-16 offsets. */
export function* graphemeSegments(text: string): Generator<{ segment: string; index: number }> {
  let start = 0;
  while (start < text.length) {
    const end = text.length - start <= 2 * CHUNK ? text.length : safeCut(text, start + CHUNK);
    for (const s of segmenter.segment(text.slice(start, end)))
      yield { segment: s.segment, index: start + s.index };
    start = end;
  }
}

function graphemes(text: string): Grapheme[] {
  const out: Grapheme[] = [];
  for (const s of graphemeSegments(text))
    out.push({ text: s.segment, start: s.index, kind: kindOf(s.segment) });
  return out;
}

const DIGIT = /^\p{N}/u;

/** Whether the joiner at `j` glues the run gs[runStart..j) to the word that follows it. */
function joins(gs: Grapheme[], runStart: number, j: number): boolean {
  const c = gs[j].text;
  if (!JOINERS.has(c)) return false;
  if (c !== '.' && c !== ',') return true;
  // `3.14`, `1,000`: digits on both sides.
  if (DIGIT.test(gs[j - 1].text) && DIGIT.test(gs[j + 1].text)) return true;
  // `U.S`, `e.g`: one letter, a period, one letter.
  const singleBefore = j - runStart === 1;
  const singleAfter = j + 2 >= gs.length || gs[j + 2].kind !== 'word';
  return c === '.' && singleBefore && singleAfter && !DIGIT.test(gs[j - 1].text);
}

export function tokenize(text: string): Token[] {
  const gs = graphemes(text);
  const tokens: Token[] = [];
  const push = (start: number, end: number) => tokens.push({ text: text.slice(start, end), start, end });
  let i = 0;
  while (i < gs.length) {
    const g = gs[i];
    const start = g.start;
    if (g.kind === 'space') {
      i++;
      continue;
    }
    if (g.kind === 'cjk' || g.kind === 'emoji') {
      push(start, start + g.text.length);
      i++;
      continue;
    }
    if (g.kind === 'other') {
      let j = i + 1;
      while (j < gs.length && gs[j].kind === 'other' && gs[j].text === g.text) j++;
      const last = gs[j - 1];
      push(start, last.start + last.text.length);
      i = j;
      continue;
    }
    // A word: runs of word graphemes, joined by a single joiner between two runs.
    let j = i + 1;
    let runStart = i;
    for (;;) {
      while (j < gs.length && gs[j].kind === 'word') j++;
      if (j + 1 < gs.length && gs[j + 1].kind === 'word' && joins(gs, runStart, j)) {
        runStart = j + 1;
        j += 2;
        continue;
      }
      break;
    }
    let end = gs[j - 1].start + gs[j - 1].text.length;
    if (j < gs.length && gs[j].text === '.' && DOTTED_ABBREVIATION.test(text.slice(start, end))) end += 1;
    push(start, end);
    while (j < gs.length && gs[j].start < end) j++;
    i = j;
  }
  return tokens;
}

export class AlignmentError extends Error {
  constructor(
    message: string,
    readonly tokenIndex: number,
  ) {
    super(message);
    this.name = 'AlignmentError';
  }
}

export interface AlignOptions {
  /** Allow non-whitespace text between tokens (skipped). Default false: only whitespace may separate them. */
  allowGaps?: boolean;
  /** Text from this offset on is searched. Default 0. */
  from?: number;
}

/**
 * Finds the given token strings in `text`, in order, and returns them with offsets.
 * Throws an AlignmentError naming the token when one cannot be found, or (unless
 * `allowGaps`) when something other than whitespace lies between two tokens.
 */
export function alignTokens(text: string, tokens: readonly string[], options: AlignOptions = {}): Token[] {
  const out: Token[] = [];
  let pos = options.from ?? 0;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (tok.length === 0) throw new AlignmentError(`token ${i} is empty`, i);
    let at: number;
    if (options.allowGaps) at = text.indexOf(tok, pos);
    else {
      at = pos;
      while (at < text.length && /\s/.test(text[at])) at++;
      if (!text.startsWith(tok, at)) at = -1;
    }
    if (at < 0) {
      const context = JSON.stringify(text.slice(pos, pos + 30));
      throw new AlignmentError(
        `token ${i} ${JSON.stringify(tok)} not found in the text at offset ${pos} (${context})`,
        i,
      );
    }
    out.push({ text: tok, start: at, end: at + tok.length });
    pos = at + tok.length;
  }
  return out;
}

/** A document's tokens: its own when it has them, else `tokenize(text)`. */
export function documentTokens(doc: { text: string; tokens?: Token[] }): Token[] {
  return doc.tokens ?? tokenize(doc.text);
}

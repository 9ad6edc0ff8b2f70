/**
 * A rule-based sentence splitter with exact offsets (UTF-16 code units, end exclusive). The
 * returned pieces never include surrounding whitespace, never overlap, and cover every
 * non-whitespace character of the text, so nothing is lost between pieces.
 *
 * Splits:
 * - after `.`, `!`, `?`, `…` (and runs of them such as `?!` or `...`) followed by whitespace or the
 *   end; closing quotes and brackets right after the mark stay with the sentence;
 * - after the CJK marks `。！？｡` (no whitespace needed), closing quotes and brackets included;
 * - at blank lines (a line break, optional spaces, another line break).
 * Does not split:
 * - after a known abbreviation (`Mr.`, `Dr.`, `e.g.`, `U.S.`, `Inc.`, month names ...), a dotted
 *   abbreviation (`U.S.`), or a single capital initial (`J. Smith`);
 * - before a lower-case letter (`"Really?" she asked`, `approx. three`), or a digit after `.`;
 * - inside numbers (`3.14`: no whitespace after the point).
 * `maxChars` cuts pieces longer than it: at the last `;` `:` `,` `、` `，` `；` in the second half
 * of the limit, else at the last whitespace, else at the last grapheme boundary, so no piece exceeds it.
 */
import { graphemeSegments } from './tokenize.js';

export interface SentenceSpan {
  start: number;
  end: number;
}

export interface SplitOptions {
  /** Longest piece in UTF-16 code units; longer sentences are cut. Default: no limit. */
  maxChars?: number;
  /** Extra abbreviations (without the final period, case-insensitive). */
  abbreviations?: Iterable<string>;
}

const ABBREVIATIONS = new Set(
  (
    'mr mrs ms dr prof sr jr st mt ft rev hon gen col lt sgt capt cmdr adm gov sen rep pres ' +
    'vs al approx ca cf dept est fig figs no nos vol vols pp ed eds inc ltd co corp bros llc ' +
    'jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri sat sun ' +
    'e.g i.e u.s u.k u.n a.m p.m ph.d b.a m.a d.c a.d b.c viz resp dist univ assn ave blvd rd'
  ).split(/\s+/),
);

const TERMINATORS = '.!?…';
const CJK_TERMINATORS = '。！？｡';
const CLOSERS = '"\'”’»)]}」』）】〕〉》›';

function isSpace(c: string | undefined): boolean {
  return c !== undefined && /\s/.test(c);
}

/** The word before the terminator at `i` (letters, digits and inner periods). */
function wordBefore(text: string, i: number): string {
  let s = i;
  while (s > 0 && /[\p{L}\p{N}\p{M}.]/u.test(text[s - 1])) s--;
  return text.slice(s, i);
}

function isAbbreviation(word: string, abbreviations: Set<string>): boolean {
  if (word === '') return false;
  const w = word.replace(/^\.+/, '');
  if (abbreviations.has(w.toLowerCase())) return true;
  if (/^\p{Lu}$/u.test(w)) return true; // an initial: "J. Smith"
  if (/^(?:\p{L}\.)+\p{L}$/u.test(w)) return true; // dotted: "U.S", "e.g"
  return false;
}

/** Raw boundaries: offsets where a new sentence may start. */
function boundaries(text: string, abbreviations: Set<string>): number[] {
  const cuts: number[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      // A blank line: newline, optional horizontal space, newline.
      let j = i + 1;
      while (j < n && text[j] !== '\n' && isSpace(text[j])) j++;
      if (j < n && text[j] === '\n') {
        cuts.push(j + 1);
        i = j + 1;
        continue;
      }
      i++;
      continue;
    }
    if (CJK_TERMINATORS.includes(c)) {
      let j = i + 1;
      while (j < n && (CJK_TERMINATORS.includes(text[j]) || CLOSERS.includes(text[j]))) j++;
      cuts.push(j);
      i = j;
      continue;
    }
    if (TERMINATORS.includes(c)) {
      let j = i + 1;
      while (j < n && TERMINATORS.includes(text[j])) j++;
      while (j < n && CLOSERS.includes(text[j])) j++;
      if (j < n && !isSpace(text[j])) {
        i = j;
        continue;
      }
      if (c === '.' && j === i + 1 && isAbbreviation(wordBefore(text, i), abbreviations)) {
        i = j;
        continue;
      }
      let k = j;
      while (k < n && isSpace(text[k]) && text[k] !== '\n') k++;
      const continues = c === '.' && j === i + 1 ? /[\p{Ll}\p{N}]/u : /\p{Ll}/u;
      if (k < n && continues.test(text[k])) {
        i = j;
        continue;
      }
      cuts.push(j);
      i = j;
      continue;
    }
    i++;
  }
  return cuts;
}

function trim(text: string, start: number, end: number): SentenceSpan | null {
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  return start < end ? { start, end } : null;
}

/** Cuts [start, end) into pieces of at most maxChars code units. */
function cutLong(text: string, span: SentenceSpan, maxChars: number): SentenceSpan[] {
  const out: SentenceSpan[] = [];
  let { start } = span;
  const { end } = span;
  while (end - start > maxChars) {
    const limit = start + maxChars;
    let cut = -1;
    for (let k = limit; k > start + maxChars / 2; k--) {
      if (';:,、，；：'.includes(text[k - 1])) {
        cut = k;
        break;
      }
    }
    if (cut < 0) {
      for (let k = limit; k > start; k--) {
        if (isSpace(text[k])) {
          cut = k;
          break;
        }
      }
    }
    if (cut <= start) {
      // No punctuation or space: cut at the last grapheme boundary within the limit.
      cut = start;
      for (const g of graphemeSegments(text.slice(start, limit + 1))) {
        const gEnd = start + g.index + g.segment.length;
        if (gEnd > limit) break;
        cut = gEnd;
      }
      if (cut <= start) cut = limit; // a single grapheme longer than maxChars
    }
    const piece = trim(text, start, cut);
    if (piece) out.push(piece);
    start = cut;
    while (start < end && isSpace(text[start])) start++;
  }
  const rest = trim(text, start, end);
  if (rest) out.push(rest);
  return out;
}

export function splitSentences(text: string, options: SplitOptions = {}): SentenceSpan[] {
  const abbreviations = options.abbreviations
    ? new Set([
        ...ABBREVIATIONS,
        ...[...options.abbreviations].map((a) => a.toLowerCase().replace(/\.$/, '')),
      ])
    : ABBREVIATIONS;
  const spans: SentenceSpan[] = [];
  let prev = 0;
  for (const cut of [...boundaries(text, abbreviations), text.length]) {
    const s = trim(text, prev, cut);
    if (s) spans.push(s);
    prev = cut;
  }
  const max = options.maxChars;
  if (max === undefined) return spans;
  if (!(max >= 1)) throw new RangeError(`maxChars must be at least 1, got ${max}`);
  return spans.flatMap((s) => (s.end - s.start > max ? cutLong(text, s, max) : [s]));
}

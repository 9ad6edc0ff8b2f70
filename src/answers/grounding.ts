/**
 * Grounding: turns the span strings a model returned into character offsets in the input.
 *
 * Matching, tried in order until one finds something:
 * 1. exact substring;
 * 2. case-folded with runs of whitespace collapsed to one space;
 * 3. case-folded with all whitespace removed (CJK text joined by spaces, "New  York" vs "NewYork").
 * A leading/trailing quote or sentence punctuation the model added (`"Paris."`) is stripped and
 * the span tried again. Within a level, occurrences that respect word boundaries (no letter or
 * digit glued on either side, except for CJK) are preferred over ones inside a longer word.
 *
 * Repeated substrings are resolved as the model indicated and never silently duplicated:
 * - `occurrence: k` (1-based) picks the k-th occurrence;
 * - `context: "..."` picks the occurrence lying inside the first place where the context string
 *   (which must contain the span) occurs in the text;
 * - without either, a span the model listed m times takes the first m occurrences. When the text
 *   has more occurrences than that, the choice is ambiguous and is counted in `ambiguous`.
 * A span found nowhere is dropped and counted in `hallucinated`.
 */
import type { Span } from '../core/types.js';

/** One span as the model named it. */
export interface SpanMention {
  text: string;
  /** 1-based occurrence index among the occurrences of `text` in the input. */
  occurrence?: number;
  /** A longer piece of the input around the span. */
  context?: string;
}

export interface GroundingResult {
  spans: Span[];
  /** Mentions that match nothing in the text. */
  hallucinated: number;
  /** Mentions whose occurrence had to be guessed (first occurrences taken). */
  ambiguous: number;
  /** Mentions found only in another case, spacing or without added quotes/punctuation. */
  loose: number;
  /** The mention strings that were dropped, for the trace. */
  dropped: string[];
}

const CJK = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]/u;
const WORDCHAR = /[\p{L}\p{N}\p{M}]/u;
const STRIP = /^[\s"'“”‘’«»`]+|[\s"'“”‘’«»`.,;:!?]+$/gu;

interface Normalized {
  text: string;
  /** map[i] = index in the original of normalized char i. */
  map: number[];
}

function lowerChar(c: string): string {
  const l = c.toLowerCase();
  return l.length === c.length ? l : c;
}

function normalize(text: string, mode: 'fold' | 'nospace'): Normalized {
  let out = '';
  const map: number[] = [];
  let prevSpace = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (/\s/.test(c)) {
      if (mode === 'nospace' || prevSpace) continue;
      out += ' ';
      map.push(i);
      prevSpace = true;
      continue;
    }
    prevSpace = false;
    const l = lowerChar(c);
    for (let k = 0; k < l.length; k++) {
      out += l[k];
      map.push(i + k);
    }
  }
  return { text: out, map };
}

function normalizeQuery(s: string, mode: 'fold' | 'nospace'): string {
  const n = normalize(s, mode).text;
  return mode === 'fold' ? n.trim() : n;
}

function allIndexes(hay: string, needle: string): number[] {
  const out: number[] = [];
  if (needle.length === 0) return out;
  let at = hay.indexOf(needle);
  while (at >= 0) {
    out.push(at);
    at = hay.indexOf(needle, at + 1);
  }
  return out;
}

function glued(text: string, start: number, end: number): boolean {
  const before = start > 0 ? text[start - 1] : '';
  const after = end < text.length ? text[end] : '';
  const first = text[start];
  const last = text[end - 1];
  const bad = (outside: string, inside: string) =>
    outside !== '' &&
    WORDCHAR.test(outside) &&
    WORDCHAR.test(inside) &&
    !CJK.test(outside) &&
    !CJK.test(inside);
  return bad(before, first) || bad(after, last);
}

/**
 * Every occurrence of `span` in `text` at the first matching level, as [start, end) pairs in text
 * order; occurrences inside a longer word are left out when whole-word ones exist. This list is THE
 * occurrence rule: the k-th item is "occurrence k" wherever a span is named (prompts, answers).
 */
export function findOccurrences(text: string, span: string): Array<[number, number]> {
  return occurrencesAt(text, span, true);
}

function occurrencesAt(text: string, span: string, wholeWordsFirst: boolean): Array<[number, number]> {
  const candidates = [span];
  const stripped = span.replace(STRIP, '');
  if (stripped !== span && stripped.length > 0) candidates.push(stripped);
  const usable = candidates.filter((c) => c.trim().length > 0);
  // Levels outer, candidates inner: an exact match of the stripped span beats a loose match of the raw one.
  const levels: Array<(cand: string) => Array<[number, number]>> = [
    (cand) => allIndexes(text, cand).map((s) => [s, s + cand.length]),
    (cand) => viaNormalized(text, cand, 'fold'),
    (cand) => viaNormalized(text, cand, 'nospace'),
  ];
  for (const level of levels) {
    for (const cand of usable) {
      const found = level(cand);
      if (found.length === 0) continue;
      if (!wholeWordsFirst) return found;
      const clean = found.filter(([s, e]) => !glued(text, s, e));
      return clean.length > 0 ? clean : found;
    }
  }
  return [];
}

function viaNormalized(text: string, span: string, mode: 'fold' | 'nospace'): Array<[number, number]> {
  const q = normalizeQuery(span, mode);
  if (q.length === 0) return [];
  const n = normalize(text, mode);
  const out: Array<[number, number]> = [];
  let last = -1;
  for (const i of allIndexes(n.text, q)) {
    const start = n.map[i];
    const end = n.map[i + q.length - 1] + 1;
    if (start === last) continue;
    last = start;
    out.push([start, end]);
  }
  return out;
}

/** Grounds the mentions of one model answer in `text`. Output spans are unique and sorted. */
export function groundMentions(text: string, mentions: readonly SpanMention[]): GroundingResult {
  const result: GroundingResult = { spans: [], hallucinated: 0, ambiguous: 0, loose: 0, dropped: [] };
  const taken = new Set<string>();
  const add = (s: number, e: number) => {
    const key = `${s}:${e}`;
    if (taken.has(key)) return;
    taken.add(key);
    result.spans.push({ start: s, end: e, text: text.slice(s, e) });
  };
  // Mentions without indication are grouped by their string to count how many times the model listed each.
  const plain = new Map<string, { occ: Array<[number, number]>; count: number }>();
  for (const m of mentions) {
    if (typeof m.text !== 'string' || m.text.trim() === '') continue;
    const occ = findOccurrences(text, m.text);
    if (occ.length === 0) {
      result.hallucinated++;
      result.dropped.push(m.text);
      continue;
    }
    if (text.slice(occ[0][0], occ[0][1]) !== m.text) result.loose++;
    if (m.occurrence !== undefined && Number.isInteger(m.occurrence) && m.occurrence >= 1) {
      if (m.occurrence <= occ.length) {
        const [s, e] = occ[m.occurrence - 1];
        add(s, e);
        continue;
      }
      // An occurrence index past the end: fall through to the unindicated rule and count it.
    } else if (typeof m.context === 'string' && m.context.trim() !== '') {
      // Inside the context any match counts, also one inside a longer word (how the prompts name
      // a span that no occurrence index reaches).
      const ctx = findOccurrences(text, m.context);
      const inside =
        ctx.length > 0
          ? occurrencesAt(text, m.text, false).find(([s, e]) => s >= ctx[0][0] && e <= ctx[0][1])
          : undefined;
      if (inside) {
        add(inside[0], inside[1]);
        continue;
      }
    }
    const key = `${occ[0][0]}:${occ[0][1]}:${occ.length}`;
    const g = plain.get(key);
    if (g) g.count++;
    else plain.set(key, { occ, count: 1 });
  }
  for (const { occ, count } of plain.values()) {
    // Skip occurrences already taken by an indexed mention of the same string.
    const free = occ.filter(([s, e]) => !taken.has(`${s}:${e}`));
    const pool = free.length > 0 ? free : occ;
    const n = Math.min(count, pool.length);
    for (let i = 0; i < n; i++) add(pool[i][0], pool[i][1]);
    if (pool.length > count) result.ambiguous++;
  }
  result.spans.sort((a, b) => a.start - b.start || a.end - b.end);
  return result;
}

/** How a span of `text` is named so that grounding finds exactly it again. */
export interface SpanName {
  text: string;
  /** 1-based, present when the span's string occurs more than once (by `findOccurrences`). */
  occurrence?: number;
  /** How many times the string occurs, when `occurrence` is given. */
  of?: number;
  /** A few words around the span, when no occurrence index reaches it (a match inside a longer word). */
  context?: string;
}

/**
 * The one occurrence rule, for naming: a span whose string occurs once is named by its text; a
 * repeated one by its text and its index in `findOccurrences`; a span that list does not hold
 * (`Carly` inside `iCarly` while a whole-word `Carly` exists) by its text and the words around it.
 */
export function nameSpan(text: string, span: { start: number; end: number }): SpanName {
  const s = text.slice(span.start, span.end);
  const occ = findOccurrences(text, s);
  const i = occ.findIndex(([a, b]) => a === span.start && b === span.end);
  if (i >= 0) return occ.length > 1 ? { text: s, occurrence: i + 1, of: occ.length } : { text: s };
  return { text: s, context: contextAround(text, span.start, span.end) };
}

/** The span with the whole words touching it and one more word on each side. */
function contextAround(text: string, start: number, end: number): string {
  let a = start;
  let b = end;
  for (let words = 0; words < 2 && a > 0; words++) {
    while (a > 0 && /\s/.test(text[a - 1])) a--;
    while (a > 0 && !/\s/.test(text[a - 1])) a--;
  }
  for (let words = 0; words < 2 && b < text.length; words++) {
    while (b < text.length && /\s/.test(text[b])) b++;
    while (b < text.length && !/\s/.test(text[b])) b++;
  }
  return text.slice(a, b).trim();
}

/**
 * Negative items for the demonstrations, so that the examples answer `none` and `no` as often as
 * the real queries need (the union of several extractors always holds spans that are not
 * entities, and the verifier sees wrong types).
 *
 * Where they come from: the other words of the pool sentence itself, in the shapes extractors
 * really over-propose, taken in turn from
 * 1. capitalised words (runs of them) outside every gold entity, the sentence's first word
 *    excepted: `Monday`, `Cup`, the all-caps words of a headline;
 * 2. boundary errors of a gold entity: the last word of a multi-word entity (`Merkel` of
 *    `Angela Merkel`), else the entity with the next word (`Paris on`); CJK: the entity with the
 *    next character;
 * 3. numbers outside the entities (`1996`, `3-1`);
 * 4. the longest lower-case word of four letters or more that is no stop word; CJK: two
 *    characters outside the entities.
 * Never a string that is also a gold entity of the sentence, never a gold span. The choice is a
 * pure function of the sentence, so demonstrations stay byte-identical across models and calls.
 */
import { tokenize } from '../core/tokenize.js';
import { type NerDocument, NONE_TYPE, type Span, type Token } from '../core/types.js';

/** A pool sentence's entities in text order. */
export function sortedEntities(doc: NerDocument) {
  return [...doc.entities].sort((a, b) => a.start - b.start || a.end - b.end);
}

const STOP = new Set(
  'that this with from have were will would there their they them then than what when which while about after before into over also been being only other some such very more most said says'.split(
    ' ',
  ),
);
const CAPITAL = /^\p{Lu}/u;
const LOWER_WORD = /^\p{Ll}[\p{Ll}'-]*$/u;
const NUMBER = /^\p{N}[\p{N}.,:/-]*$/u;
const CJK = /^[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]$/u;

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** How many negatives a sentence with `entities` gold entities gets in classification examples. */
export function negativeCount(entities: number): number {
  return Math.min(3, Math.max(1, Math.ceil(entities / 3)));
}

function spanOf(text: string, start: number, end: number): Span {
  return { start, end, text: text.slice(start, end) };
}

/** Candidate non-entity spans of a pool sentence, by source (see the file comment), in sentence order. */
function candidates(doc: NerDocument): Span[][] {
  const { text } = doc;
  const ents = sortedEntities(doc);
  const inside = (s: number, e: number) => ents.some((g) => s < g.end && e > g.start);
  const tokens = tokenize(text);
  const free = tokens.filter((t) => !inside(t.start, t.end));
  const capitalised: Span[] = [];
  let run: Token[] = [];
  const flush = () => {
    if (run.length > 0) capitalised.push(spanOf(text, run[0].start, run[run.length - 1].end));
    run = [];
  };
  for (const t of tokens) {
    const ok = t !== tokens[0] && CAPITAL.test(t.text) && !inside(t.start, t.end);
    const adjacent = run.length > 0 && /^ +$/.test(text.slice(run[run.length - 1].end, t.start));
    if (ok && (run.length === 0 || adjacent)) run.push(t);
    else {
      flush();
      if (ok) run.push(t);
    }
  }
  flush();
  const boundary: Span[] = [];
  for (const g of ents) {
    const words = tokens.filter((t) => t.start >= g.start && t.end <= g.end);
    if (words.length >= 2 && !CJK.test(words[0].text)) {
      const last = words[words.length - 1];
      if (/\p{L}/u.test(last.text)) boundary.push(spanOf(text, last.start, last.end));
      continue;
    }
    const next = tokens.find((t) => t.start >= g.end);
    if (!next || inside(next.start, next.end)) continue;
    const nextOk = CJK.test(next.text) ? next.start === g.end : /^\p{L}/u.test(next.text);
    if (nextOk && /^\s*$/.test(text.slice(g.end, next.start))) boundary.push(spanOf(text, g.start, next.end));
  }
  const numbers = free.filter((t) => NUMBER.test(t.text)).map((t) => spanOf(text, t.start, t.end));
  const words = free
    .filter((t) => LOWER_WORD.test(t.text) && t.text.length >= 4 && !STOP.has(t.text))
    .sort((a, b) => b.text.length - a.text.length || a.start - b.start)
    .map((t) => spanOf(text, t.start, t.end));
  for (let i = 0; i + 1 < free.length; i++) {
    const a = free[i];
    const b = free[i + 1];
    if (CJK.test(a.text) && CJK.test(b.text) && b.start === a.end) words.push(spanOf(text, a.start, b.end));
  }
  return [capitalised, boundary, numbers, words];
}

// Demonstrations repeat across chunks: their candidates are computed once (a bounded memo).
const memo = new Map<string, Span[][]>();
const MEMO_LIMIT = 20_000;

/** The candidates of a pool sentence that are neither a gold span nor a gold entity's string. */
function usableCandidates(doc: NerDocument): Span[][] {
  const key = `${doc.text}\u0000${doc.entities.map((e) => `${e.start}:${e.end}`).join(',')}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const goldTexts = new Set(doc.entities.map((e) => e.text.toLowerCase()));
  const goldSpans = new Set(doc.entities.map((e) => `${e.start}:${e.end}`));
  const pools = candidates(doc).map((list) =>
    list.filter((s) => !goldTexts.has(s.text.toLowerCase()) && !goldSpans.has(`${s.start}:${s.end}`)),
  );
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, pools);
  return pools;
}

/** Up to `max` non-entity spans of a pool sentence, sorted by offset (see the file comment). */
export function negativeSpans(doc: NerDocument, max = negativeCount(doc.entities.length)): Span[] {
  const pools = usableCandidates(doc);
  const taken = new Map<string, Span>();
  const texts = new Set<string>();
  const h = hash(doc.text);
  for (let round = 0; taken.size < max && pools.some((p) => p.length > round); round++) {
    for (let c = 0; c < pools.length && taken.size < max; c++) {
      const list = pools[c];
      if (list.length <= round) continue;
      // a sentence-dependent but fixed pick within the source
      const s = list[(h + round) % list.length];
      const key = `${s.start}:${s.end}`;
      if (taken.has(key) || texts.has(s.text)) continue;
      taken.set(key, s);
      texts.add(s.text);
    }
  }
  return [...taken.values()].sort((a, b) => a.start - b.start || a.end - b.end);
}

/** A classification example: gold entities and negatives in sentence order, each with its answer. */
export function classificationItems(doc: NerDocument): Array<Span & { answer: string }> {
  const items = [
    ...sortedEntities(doc).map((e) => ({ start: e.start, end: e.end, text: e.text, answer: e.type })),
    ...negativeSpans(doc).map((s) => ({ ...s, answer: NONE_TYPE })),
  ];
  return items.sort((a, b) => a.start - b.start || a.end - b.end);
}

export interface VerificationItem extends Span {
  type: string;
  answer: 'yes' | 'no';
}

/**
 * A verification example: the gold entities with their types (`yes`) and one `no` item: either
 * one of them given a wrong type (when the sentence has two entities or more) or a negative span
 * given a label. Sentences without entities give no example.
 */
export function verificationItems(doc: NerDocument, labels: readonly string[]): VerificationItem[] {
  const ents = sortedEntities(doc);
  if (ents.length === 0) return [];
  const h = hash(doc.text);
  const items: VerificationItem[] = ents.map((e) => ({
    start: e.start,
    end: e.end,
    text: e.text,
    type: e.type,
    answer: 'yes',
  }));
  const otherLabel = (not: string, salt: number) => {
    const others = labels.filter((l) => l !== not);
    return others.length > 0 ? others[(h + salt) % others.length] : undefined;
  };
  // One `no` item per example, but only every other example with a single entity: real queries
  // are mostly right (the vote has already filtered them), so the examples must not teach "no".
  if (ents.length === 1 && (h >> 3) % 2 === 1) return items;
  const negative = negativeSpans(doc, 1)[0];
  const wrongType = ents.length >= 2 && (h % 2 === 0 || !negative);
  if (wrongType) {
    const i = h % items.length;
    const t = otherLabel(items[i].type, 1);
    if (t) {
      items[i] = { ...items[i], type: t, answer: 'no' };
      return items;
    }
  }
  if (negative) {
    const t = labels.length > 0 ? labels[h % labels.length] : undefined;
    if (t) items.push({ ...negative, type: t, answer: 'no' });
  }
  return items.sort((a, b) => a.start - b.start || a.end - b.end);
}

/**
 * Lenient readers of the answer shapes (the resolver has already pulled the JSON out of the
 * text); they accept the shapes models drift into and say which one they read (`shape`, for the
 * repair counts):
 * spans as strings or objects (`{"spans": ["Obama", {"text": "Paris", "occurrence": 2}]}`), a bare
 * array instead of the wrapping object, another key than the one asked for, answers without ids
 * (in list order, or named by their span), `{span: type}` and `{id: type}` maps, yes/no as
 * booleans or in other spellings.
 */
import type { SpanMention } from './grounding.js';

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** The first array found under one of `keys` (the first is the one asked for), or the value itself when it is an array. */
function findArray(json: unknown, keys: readonly string[]): { array: unknown[]; shape?: string } | undefined {
  if (Array.isArray(json)) return { array: json, shape: 'a bare array' };
  const r = asRecord(json);
  if (!r) return undefined;
  for (const [i, k] of keys.entries())
    if (Array.isArray(r[k])) return { array: r[k] as unknown[], ...(i > 0 ? { shape: `key "${k}"` } : {}) };
  // Any single array value ("entities", "results", ...).
  const arrays = Object.entries(r).filter(([, v]) => Array.isArray(v));
  return arrays.length === 1
    ? { array: arrays[0][1] as unknown[], shape: `key "${arrays[0][0]}"` }
    : undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function firstString(r: Record<string, unknown>, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const s = str(r[k]);
    if (s !== undefined) return s;
  }
  return undefined;
}

function occurrenceOf(r: Record<string, unknown>): number | undefined {
  const v = r.occurrence ?? r.occ ?? r.index;
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : undefined;
}

const SPAN_KEYS = ['text', 'span', 'entity', 'name', 'mention', 'value'];

function mentionOf(item: unknown): SpanMention | undefined {
  const s = str(item);
  if (s !== undefined) return { text: s };
  const r = asRecord(item);
  if (!r) return undefined;
  const text = firstString(r, SPAN_KEYS);
  if (text === undefined) return undefined;
  const m: SpanMention = { text };
  const occ = occurrenceOf(r);
  if (occ !== undefined) m.occurrence = occ;
  if (typeof r.context === 'string') m.context = r.context;
  return m;
}

export interface SpanAnswer {
  mentions: SpanMention[];
  /** Items that were not spans at all. */
  invalid: number;
  /** Whether a list of spans was there at all. */
  found: boolean;
  /** The lenient shape it was read from, when not the one asked for. */
  shape?: string;
}

/** Span mentions from an extraction answer. */
export function parseSpanAnswer(json: unknown): SpanAnswer {
  const found = findArray(json, ['spans', 'entities']);
  const mentions: SpanMention[] = [];
  let invalid = 0;
  for (const item of found?.array ?? []) {
    const m = mentionOf(item);
    if (m && m.text.trim() !== '') mentions.push(m);
    else invalid++;
  }
  return { mentions, invalid, found: found !== undefined, ...(found?.shape ? { shape: found.shape } : {}) };
}

/** Typed mentions from a joint extract-and-type answer (type still raw). */
export function parseJointAnswer(json: unknown): {
  mentions: Array<SpanMention & { type: string }>;
  invalid: number;
  found: boolean;
  shape?: string;
} {
  const found = findArray(json, ['entities', 'spans']);
  const out: Array<SpanMention & { type: string }> = [];
  let invalid = 0;
  if (!found) {
    // {"Obama": "PER", ...}
    const r = asRecord(json);
    if (r) for (const [k, v] of Object.entries(r)) if (typeof v === 'string') out.push({ text: k, type: v });
    return {
      mentions: out,
      invalid,
      found: out.length > 0,
      ...(out.length ? { shape: 'a {span: type} map' } : {}),
    };
  }
  for (const item of found.array) {
    const r = asRecord(item);
    const m = mentionOf(item);
    const type = r ? firstString(r, ['type', 'label', 'category', 'entity_type']) : undefined;
    if (m && type !== undefined && m.text.trim() !== '') out.push({ ...m, type });
    else invalid++;
  }
  return { mentions: out, invalid, found: true, ...(found.shape ? { shape: found.shape } : {}) };
}

/** A numbered item as the prompt named it: its span text, and its occurrence when the text repeats. */
export type NamedItem = string | { text: string; occurrence?: number };

const itemText = (it: NamedItem) => (typeof it === 'string' ? it : it.text);
const itemOccurrence = (it: NamedItem) => (typeof it === 'string' ? undefined : it.occurrence);

/** Resolves an answer that names a span by text (and maybe occurrence) to its 1-based id. */
function byTextResolver(items: readonly NamedItem[], taken: (id: number) => boolean) {
  return (text: string, occurrence?: number): number | undefined => {
    const matches = (eq: (a: string) => boolean) => {
      const ids: number[] = [];
      items.forEach((it, i) => {
        if (eq(itemText(it))) ids.push(i + 1);
      });
      return ids;
    };
    let ids = matches((a) => a === text);
    if (ids.length === 0) ids = matches((a) => a.toLowerCase() === text.trim().toLowerCase());
    if (occurrence !== undefined) {
      const exact = ids.find((id) => (itemOccurrence(items[id - 1]) ?? 1) === occurrence);
      if (exact !== undefined) return exact;
    }
    return ids.find((id) => !taken(id));
  };
}

export interface TypeAnswer {
  /** Raw type per 1-based item id. */
  types: Map<number, string>;
  /** The lenient shape it was read from, when not the one asked for. */
  shape?: string;
}

/**
 * Raw types per numbered item (1-based ids as in the prompt) from a classification answer.
 * Answers may identify items by `id`, by the span string (and occurrence), or be a plain array in
 * prompt order, or a {span: type} / {id: type} map.
 */
export function readTypeAnswer(json: unknown, items: readonly NamedItem[]): TypeAnswer {
  const out = new Map<number, string>();
  const resolve = byTextResolver(items, (id) => out.has(id));
  const found = findArray(json, ['answers', 'types', 'spans', 'entities']);
  if (!found) {
    const r = asRecord(json);
    let shape: string | undefined;
    if (r)
      for (const [k, v] of Object.entries(r)) {
        const t = str(v);
        const numeric = /^\d+$/.test(k);
        const id = numeric ? Number(k) : resolve(k);
        if (t !== undefined && id !== undefined && id >= 1 && id <= items.length && !out.has(id)) {
          out.set(id, t);
          shape ??= numeric ? 'an {id: type} map' : 'a {span: type} map';
        }
      }
    return { types: out, ...(shape ? { shape } : {}) };
  }
  const shapes = new Set<string>(found.shape ? [found.shape] : []);
  found.array.forEach((item, i) => {
    const plain = str(item);
    if (plain !== undefined) {
      if (i < items.length && !out.has(i + 1)) {
        out.set(i + 1, plain);
        shapes.add('answers in list order without ids');
      }
      return;
    }
    const r = asRecord(item);
    if (!r) return;
    const type = firstString(r, ['type', 'label', 'category', 'entity_type', 'answer']);
    if (type === undefined) return;
    const rawId = r.id ?? r.number;
    let id = typeof rawId === 'string' ? Number(rawId) : typeof rawId === 'number' ? rawId : undefined;
    if (id === undefined || !Number.isInteger(id)) {
      const text = firstString(r, SPAN_KEYS);
      if (text !== undefined) {
        id = resolve(text, occurrenceOf(r));
        shapes.add('answers named by span instead of id');
      } else {
        id = i + 1;
        shapes.add('answers in list order without ids');
      }
    }
    if (id !== undefined && id >= 1 && id <= items.length && !out.has(id)) out.set(id, type);
  });
  return { types: out, ...(shapes.size ? { shape: [...shapes].join(', ') } : {}) };
}

/** `readTypeAnswer` without the shape. */
export function parseTypeAnswer(json: unknown, items: readonly NamedItem[]): Map<number, string> {
  return readTypeAnswer(json, items).types;
}

function yesNo(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  const s = str(v)?.trim().toLowerCase();
  if (s === undefined) return undefined;
  if (/^(yes|y|true|correct|valid|1)\b/.test(s)) return true;
  if (/^(no|n|false|incorrect|invalid|wrong|0)\b/.test(s)) return false;
  return undefined;
}

export interface VerifyAnswer {
  /** Yes/no per 1-based item id. */
  verdicts: Map<number, boolean>;
  shape?: string;
}

/** Yes/no per numbered item (1-based) from a verification answer. */
export function readVerifyAnswer(json: unknown, count: number): VerifyAnswer {
  const out = new Map<number, boolean>();
  const found = findArray(json, ['answers', 'results', 'entities', 'verdicts']);
  if (!found) {
    const r = asRecord(json);
    let shape: string | undefined;
    if (r)
      for (const [k, v] of Object.entries(r)) {
        const b = yesNo(v);
        if (/^\d+$/.test(k) && b !== undefined && Number(k) >= 1 && Number(k) <= count) {
          out.set(Number(k), b);
          shape = 'an {id: answer} map';
        }
      }
    return { verdicts: out, ...(shape ? { shape } : {}) };
  }
  const shapes = new Set<string>(found.shape ? [found.shape] : []);
  found.array.forEach((item, i) => {
    const direct = yesNo(item);
    if (direct !== undefined) {
      if (i < count) out.set(i + 1, direct);
      shapes.add('answers in list order without ids');
      return;
    }
    const r = asRecord(item);
    if (!r) return;
    const raw = r.answer ?? r.valid ?? r.correct ?? r.verdict ?? r.decision;
    if (typeof raw === 'boolean') shapes.add('yes/no as booleans');
    const b = yesNo(raw);
    const rawId = r.id ?? r.index;
    if (rawId === undefined) shapes.add('answers in list order without ids');
    const id = typeof rawId === 'string' ? Number(rawId) : typeof rawId === 'number' ? rawId : i + 1;
    if (b !== undefined && Number.isInteger(id) && id >= 1 && id <= count && !out.has(id)) out.set(id, b);
  });
  return { verdicts: out, ...(shapes.size ? { shape: [...shapes].join(', ') } : {}) };
}

/** `readVerifyAnswer` without the shape. */
export function parseVerifyAnswer(json: unknown, count: number): Map<number, boolean> {
  return readVerifyAnswer(json, count).verdicts;
}

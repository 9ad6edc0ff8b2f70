/**
 * Lenient readers of the answer shapes (the resolver has already pulled the JSON out of the
 * text); they accept the shapes models drift into:
 * spans as strings or objects (`{"spans": ["Obama", {"text": "Paris", "occurrence": 2}]}`), a bare
 * array instead of the wrapping object, types in the wrong case or as synonyms, yes/no as booleans.
 */
import type { SpanMention } from './grounding.js';

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/** The first array found under one of `keys`, or the value itself when it is an array. */
function findArray(json: unknown, keys: readonly string[]): unknown[] | undefined {
  if (Array.isArray(json)) return json;
  const r = asRecord(json);
  if (!r) return undefined;
  for (const k of keys) if (Array.isArray(r[k])) return r[k] as unknown[];
  // Any single array value ("entities", "results", ...).
  const arrays = Object.values(r).filter(Array.isArray);
  return arrays.length === 1 ? (arrays[0] as unknown[]) : undefined;
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

/** Span mentions from an extraction answer; `invalid` counts items that were not spans at all; `found` says whether a list of spans was there at all. */
export function parseSpanAnswer(json: unknown): { mentions: SpanMention[]; invalid: number; found: boolean } {
  const found = findArray(json, ['spans', 'entities']);
  const mentions: SpanMention[] = [];
  let invalid = 0;
  for (const item of found ?? []) {
    const m = mentionOf(item);
    if (m && m.text.trim() !== '') mentions.push(m);
    else invalid++;
  }
  return { mentions, invalid, found: found !== undefined };
}

/** Typed mentions from a joint extract-and-type answer (type still raw). */
export function parseJointAnswer(json: unknown): {
  mentions: Array<SpanMention & { type: string }>;
  invalid: number;
  found: boolean;
} {
  const arr = findArray(json, ['entities', 'spans']);
  const out: Array<SpanMention & { type: string }> = [];
  let invalid = 0;
  if (!arr) {
    // {"Obama": "PER", ...}
    const r = asRecord(json);
    if (r) for (const [k, v] of Object.entries(r)) if (typeof v === 'string') out.push({ text: k, type: v });
    return { mentions: out, invalid, found: out.length > 0 };
  }
  for (const item of arr) {
    const r = asRecord(item);
    const m = mentionOf(item);
    const type = r ? firstString(r, ['type', 'label', 'category', 'entity_type']) : undefined;
    if (m && type !== undefined && m.text.trim() !== '') out.push({ ...m, type });
    else invalid++;
  }
  return { mentions: out, invalid, found: true };
}

/**
 * Raw types per numbered span (1-based ids as in the prompt) from a classification answer.
 * Answers may identify spans by `id` or by the span string (matched to the first unanswered span
 * with that text), or be a plain array in prompt order, or a {span: type} map.
 */
export function parseTypeAnswer(json: unknown, spanTexts: readonly string[]): Map<number, string> {
  const out = new Map<number, string>();
  const byText = (text: string): number | undefined => {
    for (let i = 0; i < spanTexts.length; i++) if (!out.has(i + 1) && spanTexts[i] === text) return i + 1;
    const lower = text.toLowerCase();
    for (let i = 0; i < spanTexts.length; i++)
      if (!out.has(i + 1) && spanTexts[i].toLowerCase() === lower) return i + 1;
    return undefined;
  };
  const arr = findArray(json, ['answers', 'types', 'spans', 'entities']);
  if (!arr) {
    const r = asRecord(json);
    if (r)
      for (const [k, v] of Object.entries(r)) {
        const t = str(v);
        const id = /^\d+$/.test(k) ? Number(k) : byText(k);
        if (t !== undefined && id !== undefined && id >= 1 && id <= spanTexts.length) out.set(id, t);
      }
    return out;
  }
  arr.forEach((item, i) => {
    const plain = str(item);
    if (plain !== undefined) {
      if (i < spanTexts.length && !out.has(i + 1)) out.set(i + 1, plain);
      return;
    }
    const r = asRecord(item);
    if (!r) return;
    const type = firstString(r, ['type', 'label', 'category', 'entity_type', 'answer']);
    if (type === undefined) return;
    const rawId = r.id ?? r.index ?? r.number;
    let id = typeof rawId === 'string' ? Number(rawId) : typeof rawId === 'number' ? rawId : undefined;
    if (id === undefined || !Number.isInteger(id)) {
      const text = firstString(r, SPAN_KEYS);
      id = text !== undefined ? byText(text) : i + 1;
    }
    if (id !== undefined && id >= 1 && id <= spanTexts.length && !out.has(id)) out.set(id, type);
  });
  return out;
}

function yesNo(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  const s = str(v)?.trim().toLowerCase();
  if (s === undefined) return undefined;
  if (/^(yes|y|true|correct|valid|1)\b/.test(s)) return true;
  if (/^(no|n|false|incorrect|invalid|wrong|0)\b/.test(s)) return false;
  return undefined;
}

/** Yes/no per numbered entity (1-based) from a verification answer. */
export function parseVerifyAnswer(json: unknown, count: number): Map<number, boolean> {
  const out = new Map<number, boolean>();
  const arr = findArray(json, ['answers', 'results', 'entities']);
  if (!arr) {
    const r = asRecord(json);
    if (r)
      for (const [k, v] of Object.entries(r)) {
        const b = yesNo(v);
        if (/^\d+$/.test(k) && b !== undefined && Number(k) >= 1 && Number(k) <= count) out.set(Number(k), b);
      }
    return out;
  }
  arr.forEach((item, i) => {
    const direct = yesNo(item);
    if (direct !== undefined) {
      if (i < count) out.set(i + 1, direct);
      return;
    }
    const r = asRecord(item);
    if (!r) return;
    const b = yesNo(r.answer ?? r.valid ?? r.correct ?? r.verdict ?? r.decision);
    const rawId = r.id ?? r.index;
    const id = typeof rawId === 'string' ? Number(rawId) : typeof rawId === 'number' ? rawId : i + 1;
    if (b !== undefined && Number.isInteger(id) && id >= 1 && id <= count && !out.has(id)) out.set(id, b);
  });
  return out;
}

/**
 * JSON out of what small models really write (code fences, prose around the answer, single
 * quotes, trailing commas, Python literals, unquoted keys, an answer cut off at max_tokens), then
 * validation against the requested JSON Schema with ajv.
 *
 * Bounded by construction, because an answer is untrusted input that runs on the event loop:
 * one linear pass locates the candidates (fenced blocks, balanced {...}/[...] outside strings),
 * each candidate is parsed with JSON.parse and, when that fails and it is small enough, repaired
 * with `jsonrepair` (linear). At most MAX_VALUES values are returned, at most MAX_ATTEMPTS
 * candidates are tried, at most REPAIR_BUDGET characters are repaired per answer, and an optional
 * deadline stops the search.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { jsonrepair } from 'jsonrepair';
import type { JsonSchema } from '../engines/types.js';
import { SchemaError } from './errors.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const validators = new Map<string, ValidateFunction>();

function validatorFor(schema: JsonSchema): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    v = ajv.compile(schema);
    validators.set(key, v);
  }
  return v;
}

/** Validation error text (ajv's, with instance paths), or undefined when the value fits. */
export function validateJson(value: unknown, schema: JsonSchema): string | undefined {
  const validate = validatorFor(schema);
  if (validate(value)) return undefined;
  return ajv.errorsText(validate.errors, { dataVar: 'answer' });
}

/** A candidate longer than this is parsed as it is but never repaired: real answers are a few KB. */
export const REPAIR_LIMIT = 256 * 1024;
/** Characters repaired per answer at most, over all its candidates. */
export const REPAIR_BUDGET = 512 * 1024;
/** Candidates tried per answer at most. */
export const MAX_ATTEMPTS = 64;
/** Values returned per answer at most. */
export const MAX_VALUES = 8;

export interface ExtractOptions {
  /** Epoch milliseconds after which no further candidate is tried. */
  deadline?: number;
}

/**
 * Rewrites near-JSON into JSON (single quotes, trailing commas, True/False/None, unquoted keys,
 * comments, missing closing brackets) with `jsonrepair`; throws when it cannot.
 */
export function repairJson(text: string): string {
  return jsonrepair(text);
}

interface Span {
  start: number;
  end: number;
}

/** Balanced values recorded per answer at most (more than MAX_ATTEMPTS could ever try). */
const MAX_SPANS = 256;
/** Children recorded per structure at most. */
const MAX_CHILDREN = 64;
/** Deeper structures are not JSON answers: their openers and closers are only counted. */
const MAX_DEPTH = 256;

/** Where the JSON may be, in the order to try it. */
interface Located {
  fences: Span[];
  /**
   * Balanced values outside any other, in text order, then the values inside structures that
   * never close; `children` are tried when the value itself cannot be read.
   */
  spans: Array<Span & { children?: Span[] }>;
}

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;
const OPEN_BRACE = 123;
const OPEN_BRACKET = 91;
const CLOSE_BRACE = 125;
const CLOSE_BRACKET = 93;

/**
 * One pass over the text, aware of strings; the open structures live in flat number arrays so
 * that a megabyte of openers allocates nothing per character.
 */
function locate(text: string): Located {
  const n = text.length;
  const closers: number[] = [];
  const starts: number[] = [];
  const kids: Array<Span[] | undefined> = [];
  /** Per open structure: how many too-deep openers had been seen when it opened. */
  const deepAt: number[] = [];
  const spans: Located['spans'] = [];
  let quote = 0; // char code of the open quote, 0 outside strings
  let lastSig = 0; // last non-space char code outside strings
  let tooDeep = 0; // openers beyond MAX_DEPTH not closed yet
  let deepSeen = 0; // openers beyond MAX_DEPTH so far
  for (let i = 0; i < n && spans.length < MAX_SPANS; i++) {
    const c = text.charCodeAt(i);
    if (quote) {
      if (c === 92)
        i++; // backslash: skip the escaped char
      else if (c === quote) {
        quote = 0;
        lastSig = c;
      }
      continue;
    }
    if (isSpace(c)) continue;
    const depth = closers.length;
    if (c === 34 && depth > 0) {
      quote = c; // " opens a string only inside a structure: quotes in prose stay prose
    } else if (
      c === 39 &&
      depth > 0 &&
      (lastSig === OPEN_BRACE || lastSig === OPEN_BRACKET || lastSig === 44 || lastSig === 58)
    ) {
      quote = c; // ' opens a string only right after { [ , : (the apostrophe of "it's" does not)
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth >= MAX_DEPTH) {
        tooDeep++;
        deepSeen++;
      } else {
        closers.push(c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET);
        starts.push(i);
        kids.push(undefined);
        deepAt.push(deepSeen);
      }
    } else if (tooDeep > 0 && (c === CLOSE_BRACE || c === CLOSE_BRACKET)) {
      tooDeep--;
    } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && depth > 0 && closers[depth - 1] === c) {
      // (a closer that does not match the innermost opener is left as text)
      closers.pop();
      const span = { start: starts.pop() as number, end: i + 1 };
      const children = kids.pop();
      // a value nested deeper than MAX_DEPTH is not an answer: not offered, nor its parents' children
      if (deepAt.pop() !== deepSeen) {
        lastSig = c;
        continue;
      }
      if (depth === 1) spans.push(children ? { ...span, children } : span);
      else {
        const siblings = kids[depth - 2] ?? [];
        kids[depth - 2] = siblings;
        if (siblings.length < MAX_CHILDREN) siblings.push(span);
      }
    }
    lastSig = c;
  }
  if (closers.length > 0) {
    // a structure that never closes: the answer may be cut off (repair it whole, when small
    // enough to repair), and the values inside it may be complete
    if (n - starts[0] <= REPAIR_LIMIT) spans.push({ start: starts[0], end: n });
    for (const k of kids) if (k) spans.push(...k);
  }
  return { fences: fences(text), spans };
}

/** Inner spans of ``` fenced blocks (the info string after the opening fence skipped). */
function fences(text: string): Span[] {
  const out: Span[] = [];
  let at = 0;
  while (at < text.length && out.length < MAX_SPANS) {
    const open = text.indexOf('```', at);
    if (open < 0) break;
    let start = open + 3;
    while (start < text.length && /[A-Za-z0-9_-]/.test(text[start])) start++;
    const close = text.indexOf('```', start);
    if (close < 0) break;
    out.push({ start, end: close });
    at = close + 3;
  }
  return out;
}

type Parsed = { ok: true; value: unknown } | { ok: false };

/**
 * Every JSON value found in the text, most likely first: the whole text, fenced blocks, balanced
 * values (and the children of one that cannot be read), a cut-off structure repaired, and the
 * values inside it.
 */
export function extractJsonCandidates(text: string, options: ExtractOptions = {}): unknown[] {
  const found: unknown[] = [];
  /** Candidates already tried, and whether each gave a value. */
  const seen = new Map<string, boolean>();
  let attempts = 0;
  let repairBudget = REPAIR_BUDGET;
  const exhausted = () =>
    found.length >= MAX_VALUES ||
    attempts >= MAX_ATTEMPTS ||
    // the first candidate is always tried: an answer that came in time is read
    (attempts > 0 && options.deadline !== undefined && Date.now() > options.deadline);

  const tryParse = (s: string): Parsed => {
    try {
      return { ok: true, value: JSON.parse(s) };
    } catch {
      if (s.length > REPAIR_LIMIT || s.length > repairBudget) return { ok: false };
      repairBudget -= s.length;
      try {
        return { ok: true, value: JSON.parse(jsonrepair(s)) };
      } catch {
        // hopeless, or nested too deep for the repairer's recursion (RangeError)
        return { ok: false };
      }
    }
  };
  /** Tries one candidate; true when it gave a value. */
  const consider = (span: Span): boolean => {
    if (exhausted()) return false;
    const t = text.slice(span.start, span.end).trim();
    if (!t) return false;
    const before = seen.get(t);
    if (before !== undefined) return before;
    attempts++;
    const r = tryParse(t);
    if (r.ok) found.push(r.value);
    seen.set(t, r.ok);
    return r.ok;
  };

  const where = locate(text);
  // a plain JSON answer is one balanced value that is the whole text: tried first
  const whole = where.spans[0];
  if (whole && text.slice(0, whole.start).trim() === '' && text.slice(whole.end).trim() === '')
    consider(whole);
  for (const f of where.fences) {
    const inner = text.slice(f.start, f.end).trimStart();
    if (inner.startsWith('{') || inner.startsWith('[')) consider(f);
  }
  for (const span of where.spans) {
    if (exhausted()) break;
    if (consider(span) || !span.children) continue;
    // a balanced value that cannot be read: its parts may still be
    for (const c of span.children) consider(c);
  }
  return found;
}

/**
 * Extracts the first JSON value in `text` that fits `schema`. Throws SchemaError when no JSON is
 * found or none fits (the message holds the validation error of the first candidate).
 */
export function parseJsonAnswer(text: string, schema: JsonSchema | undefined, model?: string): unknown {
  const candidates = extractJsonCandidates(text);
  if (candidates.length === 0) {
    throw new SchemaError('the answer contains no JSON value', text, model);
  }
  if (!schema) return candidates[0];
  let firstError: string | undefined;
  for (const c of candidates) {
    const err = validateJson(c, schema);
    if (err === undefined) return c;
    firstError ??= err;
  }
  throw new SchemaError(`the JSON does not match the schema: ${firstError}`, text, model);
}

/**
 * Tag sequences <-> typed token spans, for the schemes the data sets use.
 *
 * Reading rules (lenient, documented in docs/formats.md):
 * - B-X starts a span of type X.
 * - I-X / M-X continues the open span when it has type X; otherwise it starts a new span
 *   (the usual IOB2 repair: `O I-PER` reads as a PER span, as conlleval does).
 * - E-X closes the open span of type X (or is a one-token span when none is open / the type differs).
 * - S-X is a one-token span.
 * - IOB1: I-X starts a span unless the previous token is in a span of type X; B-X only marks
 *   the start of a span that directly follows another of the same type. The reader above
 *   handles IOB1 correctly, since B always starts and I continues the same type.
 * - Any other prefix is an error (the caller adds file and line).
 */
import type { TagScheme } from './types.js';

export interface TokenSpan {
  /** First token index. */
  start: number;
  /** One past the last token index. */
  end: number;
  type: string;
}

export class TagError extends Error {
  constructor(
    message: string,
    readonly tokenIndex: number,
  ) {
    super(message);
    this.name = 'TagError';
  }
}

/** Splits `B-PER` into ['B', 'PER']; `O` into ['O', '']. Accepts `B_PER` too. */
export function splitTag(tag: string, index = 0): [string, string] {
  if (tag === 'O') return ['O', ''];
  const m = /^([BIEMSLU])[-_](.+)$/.exec(tag);
  if (!m)
    throw new TagError(`invalid tag "${tag}" (expected O or a B-, I-, M-, E-, S- prefix and a type)`, index);
  let prefix = m[1];
  // BILOU is BIOES under other letters.
  if (prefix === 'L') prefix = 'E';
  if (prefix === 'U') prefix = 'S';
  return [prefix, m[2]];
}

/** Reads typed token spans from a tag sequence (any of BIO/IOB2, IOB1, BIOES, BMES, BILOU). */
export function spansFromTags(tags: readonly string[]): TokenSpan[] {
  const spans: TokenSpan[] = [];
  let open: TokenSpan | null = null;
  const close = () => {
    if (open) spans.push(open);
    open = null;
  };
  for (let i = 0; i < tags.length; i++) {
    const [prefix, type] = splitTag(tags[i], i);
    switch (prefix) {
      case 'O':
        close();
        break;
      case 'B':
        close();
        open = { start: i, end: i + 1, type };
        break;
      case 'I':
      case 'M':
        if (open && (open as TokenSpan).type === type) (open as TokenSpan).end = i + 1;
        else {
          close();
          open = { start: i, end: i + 1, type };
        }
        break;
      case 'E':
        if (open && (open as TokenSpan).type === type) {
          (open as TokenSpan).end = i + 1;
          close();
        } else {
          close();
          spans.push({ start: i, end: i + 1, type });
        }
        break;
      case 'S':
        close();
        spans.push({ start: i, end: i + 1, type });
        break;
    }
  }
  close();
  return spans;
}

/**
 * Writes spans as tags. Spans must not overlap (nested data cannot be written as one tag
 * column: the caller reports it). BIO is IOB2; BMES uses M for inner tokens and S for singles.
 */
export function tagsFromSpans(length: number, spans: readonly TokenSpan[], scheme: TagScheme): string[] {
  const tags = new Array<string>(length).fill('O');
  const sorted = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  let lastEnd = -1;
  let lastType = '';
  for (const s of sorted) {
    if (s.start < lastEnd) {
      throw new TagError(`overlapping spans cannot be written as tags (token ${s.start})`, s.start);
    }
    if (s.end <= s.start || s.end > length)
      throw new TagError(`span ${s.start}-${s.end} is out of range`, s.start);
    const n = s.end - s.start;
    for (let i = s.start; i < s.end; i++) {
      let prefix: string;
      if (scheme === 'BIO') prefix = i === s.start ? 'B' : 'I';
      else if (scheme === 'IOB1') {
        const adjacentSameType = i === s.start && lastEnd === s.start && lastType === s.type;
        prefix = adjacentSameType ? 'B' : 'I';
      } else {
        const inner = scheme === 'BMES' ? 'M' : 'I';
        prefix = n === 1 ? 'S' : i === s.start ? 'B' : i === s.end - 1 ? 'E' : inner;
      }
      tags[i] = `${prefix}-${s.type}`;
    }
    lastEnd = s.end;
    lastType = s.type;
  }
  return tags;
}

/** Guesses the scheme of a tag column from the prefixes it uses. */
export function detectScheme(tags: Iterable<string>): TagScheme {
  let hasM = false;
  let hasES = false;
  for (const t of tags) {
    const c = t[0];
    if (c === 'M') hasM = true;
    else if (c === 'E' || c === 'S' || c === 'L' || c === 'U') hasES = true;
  }
  if (hasM) return 'BMES';
  if (hasES) return 'BIOES';
  return 'BIO';
}

/** The entity types of a tag set (an SLM's labels) (prefixes stripped, 'O' left out), in label order. */
export function slmTypes(labels: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of labels) {
    if (l === 'O') continue;
    const m = /^[BIEMSLU][-_](.+)$/.exec(l);
    const t = m ? m[1] : l;
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** The type of a tag without its prefix; 'O' for outside. */
export function tagType(tag: string): string {
  if (tag === 'O') return 'O';
  const m = /^[BIEMSLU][-_](.+)$/.exec(tag);
  return m ? m[1] : tag;
}

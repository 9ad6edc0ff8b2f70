/**
 * The part of speech of a span, from the tags of the sentence it is in.
 * - 'first': the tag of the first token that overlaps the span (the public reimplementation
 *   of EL4NER weights a span by its first word).
 * - 'head': the lite wink model has no dependency parser, so the head is approximated: English
 *   noun phrases are head-final, so it is the last PROPN/NOUN/PRON token of the span, else the
 *   last token that is not punctuation, else the first token.
 * Spans in CJK text use the heuristic of cjk.ts.
 */
import { cjkSpanPos, isCjkText } from './cjk.js';
import { loadPosTagger } from './tagger.js';
import type { PosToken, Upos } from './upos.js';

export type PosOf = 'first' | 'head';

export interface SpanLike {
  start: number;
  end: number;
  text?: string;
}

const NOMINAL = new Set<Upos>(['PROPN', 'NOUN', 'PRON']);

export function spanPosFromTokens(tokens: readonly PosToken[], span: SpanLike, mode: PosOf = 'first'): Upos {
  let first: PosToken | undefined;
  let lastNominal: PosToken | undefined;
  let lastContent: PosToken | undefined;
  for (const t of tokens) {
    if (t.end <= span.start) continue;
    if (t.start >= span.end) break;
    first ??= t;
    if (NOMINAL.has(t.pos)) lastNominal = t;
    if (t.pos !== 'PUNCT') lastContent = t;
  }
  if (!first) return 'X';
  if (mode === 'first') return first.pos;
  return (lastNominal ?? lastContent ?? first).pos;
}

/** POS of `span` inside `text` (tags the whole sentence, so the context is used). */
export async function spanPos(
  text: string,
  span: SpanLike,
  mode: PosOf = 'first',
  opts: { entity?: boolean } = {},
): Promise<Upos> {
  if (isCjkText(text)) return cjkSpanPos(text.slice(span.start, span.end), opts);
  const tagger = await loadPosTagger();
  return spanPosFromTokens(tagger.tag(text), span, mode);
}

/**
 * POS for many spans of one sentence with a single tagging pass. Spans given by text only
 * are located with `indexOf` (first occurrence); a span not found in the sentence is tagged
 * on its own, without context.
 */
export function spansPos(
  tag: (text: string) => PosToken[],
  text: string,
  spans: readonly { text: string; start?: number; end?: number }[],
  mode: PosOf = 'first',
  opts: { entity?: boolean } = {},
): Upos[] {
  if (spans.length === 0) return [];
  if (isCjkText(text)) return spans.map((s) => cjkSpanPos(s.text, opts));
  const tokens = tag(text);
  return spans.map((s) => {
    let start = s.start;
    let end = s.end;
    if (start === undefined || end === undefined || text.slice(start, end) !== s.text) {
      const i = text.indexOf(s.text);
      if (i < 0)
        return isCjkText(s.text)
          ? cjkSpanPos(s.text, opts)
          : spanPosFromTokens(tag(s.text), { start: 0, end: s.text.length }, mode);
      start = i;
      end = i + s.text.length;
    }
    return spanPosFromTokens(tokens, { start, end }, mode);
  });
}

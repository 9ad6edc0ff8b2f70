/**
 * The LLM's confidence in an inline-tagged entity, from the token log probabilities of its answer
 * (Xu, Dang, Huang 2025):
 *
 * - category probability: the probability of the first token of the type label inside the
 *   opening tag, i.e. exp(logprob) of the token that covers the first character of `PER` in
 *   `<PER>`. When the tokeniser merges `<PER` or `<PER>` into one token, that token is the one.
 * - boundary probability: the mean probability of the token that opens the markup (covers its
 *   `<`), the token that closes it (covers the `<` of `</PER>`) and the token just before each of
 *   these two; each distinct token counts once. An unclosed entity uses the opening pair only.
 * - mean: (category + boundary) / 2.
 *
 * Token offsets come from walking the returned tokens over the response text. Any missing piece
 * (no logprobs, a markup character no token covers) makes the probability undefined, and an
 * undefined probability never lets the LLM override the SLM.
 */
import type { TokenLogprob } from '../engines/types.js';
import type { InlineMarkup } from './inline-tagging.js';

export type ProbabilityKind = 'category' | 'boundary' | 'mean';

export interface LocatedToken {
  start: number;
  end: number;
  logprob: number;
}

/**
 * Character offsets of each returned token in `text`. When the tokens concatenate to the text
 * (the normal case) offsets are cumulative; otherwise each token is searched a little ahead of
 * the previous one, and a token not found (byte pieces of a split character, say) gets an empty
 * range so it covers nothing.
 */
export function locateTokens(text: string, tokens: readonly TokenLogprob[]): LocatedToken[] {
  const out: LocatedToken[] = [];
  const joined = tokens.map((t) => t.token).join('');
  let cursor = 0;
  if (joined === text) {
    for (const t of tokens) {
      out.push({ start: cursor, end: cursor + t.token.length, logprob: t.logprob });
      cursor += t.token.length;
    }
    return out;
  }
  for (const t of tokens) {
    const idx = t.token === '' ? -1 : text.indexOf(t.token, cursor);
    if (idx >= 0 && idx - cursor <= 8) {
      out.push({ start: idx, end: idx + t.token.length, logprob: t.logprob });
      cursor = idx + t.token.length;
    } else {
      out.push({ start: cursor, end: cursor, logprob: t.logprob });
    }
  }
  return out;
}

/** Index of the token covering character `offset`, or -1. */
export function tokenIndexAt(located: readonly LocatedToken[], offset: number): number {
  for (let i = 0; i < located.length; i++) {
    if (located[i].start <= offset && offset < located[i].end) return i;
  }
  return -1;
}

function p(located: readonly LocatedToken[], i: number): number {
  return Math.exp(located[i].logprob);
}

export function categoryProbability(
  markup: InlineMarkup,
  located: readonly LocatedToken[],
): number | undefined {
  const i = tokenIndexAt(located, markup.typeStart);
  return i < 0 ? undefined : p(located, i);
}

export function boundaryProbability(
  markup: InlineMarkup,
  located: readonly LocatedToken[],
): number | undefined {
  const open = tokenIndexAt(located, markup.openStart);
  if (open < 0) return undefined;
  const indices = new Set<number>([open]);
  if (open > 0) indices.add(open - 1);
  if (markup.closeStart !== undefined) {
    const close = tokenIndexAt(located, markup.closeStart);
    if (close < 0) return undefined;
    indices.add(close);
    if (close > 0) indices.add(close - 1);
  }
  let sum = 0;
  for (const i of indices) sum += p(located, i);
  return sum / indices.size;
}

export function entityProbability(
  kind: ProbabilityKind,
  markup: InlineMarkup,
  located: readonly LocatedToken[] | undefined,
): number | undefined {
  if (!located || located.length === 0) return undefined;
  if (kind === 'category') return categoryProbability(markup, located);
  if (kind === 'boundary') return boundaryProbability(markup, located);
  const c = categoryProbability(markup, located);
  const b = boundaryProbability(markup, located);
  return c === undefined || b === undefined ? undefined : (c + b) / 2;
}

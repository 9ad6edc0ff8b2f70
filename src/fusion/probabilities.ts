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
 * - outside probability (per input token the LLM left outside its entities): the probability it
 *   gave to NOT opening a tag where the token's first character is written: the summed
 *   probability of the token written there and of its listed top alternatives that do not open
 *   a tag (an alternative opens one when it starts, after any whitespace, with `<` but not `</`).
 *   When the answer token just before is only whitespace (the model could have written ` <`
 *   instead of ` `), its own not-opening probability multiplies in. Unlisted mass is not counted,
 *   so this is a lower bound; without alternatives it is the written token's probability.
 *   Fusion uses it to let a confident LLM remove an unsure SLM entity.
 *
 * Token offsets come from walking the returned tokens over the response text. Any missing piece
 * (no logprobs, a markup character no token covers) makes the probability undefined, and an
 * undefined probability never lets the LLM override the SLM.
 */
import { type LocatedToken, tokenIndexAt } from '../answers/token-logprobs.js';
import type { InlineMarkup } from './inline-tagging.js';

export { type LocatedToken, locateTokens, tokenIndexAt } from '../answers/token-logprobs.js';

export type ProbabilityKind = 'category' | 'boundary' | 'mean';

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

/** True for a token that opens a tag: `<`, ` <`, `<PER`, `<PER>` (not a closing `</`). */
export function opensTag(token: string): boolean {
  const t = token.trimStart();
  return t.startsWith('<') && !t.startsWith('</');
}

/**
 * The probability of not opening a tag at one answer token: the summed probability of the
 * alternatives listed there (the written token included) that do not open one. Mass the server
 * did not list counts as unknown, so this is a lower bound (exact when the list covers it all).
 */
function notOpeningAt(t: LocatedToken): number {
  let p = opensTag(t.text) ? 0 : Math.exp(t.logprob);
  for (const alt of t.top ?? []) {
    if (alt.token === t.text || opensTag(alt.token)) continue;
    p += Math.exp(alt.logprob);
  }
  return Math.min(1, p);
}

/**
 * The LLM's probability of not opening a tag at character `offset` of its answer (where an input
 * token's first character was written); undefined when no answer token covers it.
 */
export function outsideProbability(located: readonly LocatedToken[], offset: number): number | undefined {
  const i = tokenIndexAt(located, offset);
  if (i < 0) return undefined;
  let p = notOpeningAt(located[i]);
  const prev = located[i - 1];
  if (prev && prev.end === located[i].start && prev.text.length > 0 && prev.text.trim() === '') {
    p *= notOpeningAt(prev);
  }
  return p;
}

/**
 * Token log probabilities laid over an answer's text: which returned token covers a character,
 * and what probability the model gave each of a closed set of choices (labels, yes / no) where
 * it wrote one of them. Fusion reads its inline tags' probabilities through the same offsets.
 */
import type { TokenLogprob, TopLogprob } from '../engines/types.js';

export interface LocatedToken {
  start: number;
  end: number;
  logprob: number;
  text: string;
  /** The alternatives the server listed for this position (may include the token itself). */
  top?: TopLogprob[];
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
      out.push({
        start: cursor,
        end: cursor + t.token.length,
        logprob: t.logprob,
        text: t.token,
        top: t.top,
      });
      cursor += t.token.length;
    }
    return out;
  }
  for (const t of tokens) {
    const idx = t.token === '' ? -1 : text.indexOf(t.token, cursor);
    if (idx >= 0 && idx - cursor <= 8) {
      out.push({ start: idx, end: idx + t.token.length, logprob: t.logprob, text: t.token, top: t.top });
      cursor = idx + t.token.length;
    } else {
      out.push({ start: cursor, end: cursor, logprob: t.logprob, text: t.token, top: t.top });
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

/**
 * The model's probabilities of `choices` where it wrote `written` (one of them) starting at
 * character `offset`, from the token covering that character and its listed alternatives. The
 * text of each alternative after what the written token has before `offset` (an opening quote,
 * say) is a prefix of the choices it leads to, up to a closing quote; an alternative that leads
 * to no choice is not counted, and one that leads to several (a shared first token) goes to the
 * written choice when it is among them, else is shared equally. Normalised over the choices;
 * undefined when no token covers `offset` or the written token leads nowhere.
 */
export function choiceDistribution(
  located: readonly LocatedToken[],
  offset: number,
  choices: readonly string[],
  written: string,
): Record<string, number> | undefined {
  const i = tokenIndexAt(located, offset);
  if (i < 0) return undefined;
  const token = located[i];
  const lead = token.text.slice(0, offset - token.start);
  const candidates = new Map<string, number>([[token.text, token.logprob]]);
  for (const t of token.top ?? []) if (!candidates.has(t.token)) candidates.set(t.token, t.logprob);
  const lowerChoices = choices.map((c) => c.toLowerCase());
  const out: Record<string, number> = {};
  let writtenCounted = false;
  for (const [text, logprob] of candidates) {
    if (!text.startsWith(lead)) continue;
    const rest = text.slice(lead.length);
    const quote = rest.indexOf('"');
    const piece = (quote >= 0 ? rest.slice(0, quote) : rest).toLowerCase();
    if (!piece) continue;
    const leads = choices.filter((_, k) =>
      quote >= 0 ? lowerChoices[k] === piece : lowerChoices[k].startsWith(piece),
    );
    if (leads.length === 0) continue;
    const p = Math.exp(logprob);
    if (text === token.text) writtenCounted = leads.includes(written);
    if (leads.includes(written) && text === token.text) out[written] = (out[written] ?? 0) + p;
    else for (const c of leads) out[c] = (out[c] ?? 0) + p / leads.length;
  }
  if (!writtenCounted) return undefined;
  const total = Object.values(out).reduce((a, p) => a + p, 0);
  if (!(total > 0)) return undefined;
  for (const c of Object.keys(out)) out[c] /= total;
  return out;
}

/**
 * For every flat JSON object in an answer's text with an integer `"id"` and a string under `key`
 * that is one of `choices` (case aside), the choice written and the model's probabilities of the
 * choices there (`choiceDistribution` at the value's first character); the first object of an id
 * counts. Objects in another shape, or without logprobs for their value, are left out.
 */
export function choiceDistributionsById(
  text: string,
  located: readonly LocatedToken[],
  key: string,
  choices: readonly string[],
): Map<number, { written: string; probs: Record<string, number> }> {
  const out = new Map<number, { written: string; probs: Record<string, number> }>();
  const valueAt = new RegExp(`"${key}"\\s*:\\s*"`);
  for (const object of text.matchAll(/\{[^{}]*\}/g)) {
    const body = object[0];
    const id = /"id"\s*:\s*"?(\d+)/.exec(body);
    const value = valueAt.exec(body);
    if (!id || !value || out.has(Number(id[1]))) continue;
    const from = value.index + value[0].length;
    const close = body.indexOf('"', from);
    if (close < 0) continue;
    const written = choices.find((c) => c.toLowerCase() === body.slice(from, close).toLowerCase());
    if (written === undefined) continue;
    const probs = choiceDistribution(located, (object.index ?? 0) + from, choices, written);
    if (probs) out.set(Number(id[1]), { written, probs });
  }
  return out;
}

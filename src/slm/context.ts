/**
 * The CRF's non-local (document) features, read from a document's context (src/core/context.ts):
 * per window of w documents before and after, how the word is written there (l: lower case,
 * t: capitalised mid-sentence, c: capitalised outside a headline, u: only otherwise), alone and
 * with the token's short shape, and for a capitalised token the words around its capitalised
 * mentions there. Several windows give several attribute families (`d4=`, `d12=`), so the CRF can
 * trust near documents more than far ones.
 */
import { CONTEXT_REACH, type DocumentContext } from '../core/context.js';

const UPPER = /\p{Lu}/u;
/** A letter with case: the features say how a word is written, which caseless scripts (CJK) cannot show. */
const CASED = /[\p{Lu}\p{Ll}\p{Lt}]/u;

/** Refuses windows the context does not reach. */
export function checkDocumentWindows(windows: readonly number[]): void {
  for (const w of windows)
    if (!Number.isInteger(w) || w < 1 || w > CONTEXT_REACH)
      throw new Error(`document windows must be whole numbers from 1 to ${CONTEXT_REACH}, got ${w}`);
}

export function contextAttributes(
  token: string,
  shortShape: string,
  ctx: DocumentContext,
  windows: readonly number[],
  out: string[],
): void {
  if (!CASED.test(token)) return;
  const s = ctx.words[token.toLowerCase()];
  if (!s) return;
  const capitalised = UPPER.test(token);
  for (const w of windows) {
    if (s.near > w) continue;
    const d = `d${w}`;
    const within = (x: number | undefined) => x !== undefined && x <= w;
    const seen =
      `${within(s.lower) ? 'l' : ''}${within(s.title) ? 't' : ''}${within(s.cap) ? 'c' : ''}` || 'u';
    out.push(`${d}=${seen}`, `${d}|ss=${seen}|${shortShape}`);
    if (!capitalised) continue;
    for (const [p, dist] of s.prev ?? []) if (dist <= w) out.push(`${d}p=${p}`);
    for (const [n, dist] of s.next ?? []) if (dist <= w) out.push(`${d}n=${n}`);
  }
}

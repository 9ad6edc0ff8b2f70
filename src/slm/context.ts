/**
 * The CRF's non-local (document) features, read from a document's context (src/core/context.ts):
 * per window of w documents before and after, how the word is written there (l: lower case,
 * t: capitalised mid-sentence, c: capitalised outside a headline, u: only otherwise), alone and
 * with the token's short shape, and for a capitalised token the words around its capitalised
 * mentions there. Several windows give several attribute families (`d4=`, `d12=`), so the CRF can
 * trust near documents more than far ones.
 */
import { CONTEXT_REACH, type DocumentContext } from '../core/context.js';
import { rng } from './clusters.js';

const UPPER = /\p{Lu}/u;
const LETTER = /\p{L}/u;

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
  if (!LETTER.test(token)) return;
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

/** Below this lift (see `orderCoherence`) `trainCrf` leaves the document features out. */
export const MIN_ORDER_LIFT = 2;

/**
 * Whether the order of the sentences carries documents: how much more often a sentence's rarer
 * words (lower-cased, in at least 3 and fewer than max(10, 1%) of the sentences) occur within `window` sentences of it than in
 * the same sentences shuffled. News split into sentences (CoNLL-2003) scores about 17, a book 8,
 * unrelated tweets or shuffled sentences about 1: there the document features only add noise
 * (WNUT-17 dev F1 42.54 with them against 43.01 without; docs/slm.md).
 */
export function orderCoherence(
  sentences: readonly (readonly string[])[],
  window = 4,
): { ordered: number; shuffled: number; lift: number } {
  const sets = sentences.map((s) => new Set(s.map((t) => t.toLowerCase())));
  const df = new Map<string, number>();
  for (const s of sets) for (const t of s) df.set(t, (df.get(t) ?? 0) + 1);
  const max = Math.max(10, sentences.length * 0.01);
  const rare = (t: string) => {
    const f = df.get(t) ?? 0;
    return f >= 3 && f < max && LETTER.test(t);
  };
  const share = (order: readonly Set<string>[]) => {
    let hit = 0;
    let total = 0;
    for (let i = 0; i < order.length; i++) {
      for (const t of order[i]) {
        if (!rare(t)) continue;
        total++;
        for (let j = Math.max(0, i - window); j <= Math.min(order.length - 1, i + window); j++) {
          if (j !== i && order[j].has(t)) {
            hit++;
            break;
          }
        }
      }
    }
    // Add-one smoothed, so a handful of sentences cannot make a large lift.
    return (hit + 1) / (total + 2);
  };
  const shuffledSets = [...sets];
  const random = rng(20250523);
  for (let i = shuffledSets.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffledSets[i], shuffledSets[j]] = [shuffledSets[j], shuffledSets[i]];
  }
  const ordered = share(sets);
  const shuffled = share(shuffledSets);
  return { ordered, shuffled, lift: ordered / shuffled };
}

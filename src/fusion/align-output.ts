/**
 * Aligns text an LLM rewrote (tags already removed) back to the input it was asked to copy.
 *
 * Whitespace is ignored on both sides and characters compare case-insensitively. Where the
 * two differ (a dropped or added word, prose before or after the sentence) the walk resyncs on
 * the nearest place where the next few characters agree again, preferring the smallest total
 * skip. The result maps every character of the rewritten text to an input offset, or -1 when
 * it has no counterpart. Nothing is ever taken from the rewritten text itself, so offsets
 * always point into the input.
 */

interface Chars {
  /** One comparison key per kept UTF-16 unit. */
  keys: string;
  /** Offset of each key in the original string. */
  pos: number[];
}

function keyOf(c: string): string {
  const l = c.toLowerCase();
  return l.length === 1 ? l : c;
}

function nonSpace(s: string): Chars {
  let keys = '';
  const pos: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (/\s/.test(c)) continue;
    keys += keyOf(c);
    pos.push(i);
  }
  return { keys, pos };
}

interface Resync {
  a: number;
  b: number;
}

/** The smallest (a + b) such that out[i+a..] and inp[j+b..] agree on the next `k` keys. */
function resync(
  out: string,
  inp: string,
  i: number,
  j: number,
  maxA: number,
  maxB: number,
  k: number,
): Resync | null {
  let best: Resync | null = null;
  // Only the window the input may skip is searched, so each resync costs O(maxA * maxB).
  const win = inp.substring(j, Math.min(inp.length, j + maxB + k));
  for (let a = 0; a <= maxA && i + a < out.length; a++) {
    if (best && a >= best.a + best.b) break;
    const len = Math.min(k, out.length - i - a, inp.length - j);
    if (len <= 0) break;
    const b = win.indexOf(out.substr(i + a, len));
    if (b < 0 || b > maxB) continue;
    if (!best || a + b < best.a + best.b) best = { a, b };
  }
  return best;
}

export interface AlignOutputOptions {
  /** Characters compared to resync after a difference. Default 4. */
  chunk?: number;
  /** How far (in non-space characters) either side may skip to resync. Default 200. */
  window?: number;
  /** Characters of `rewritten` before this offset are left unmapped. Default 0. */
  from?: number;
}

/**
 * Maps each UTF-16 unit of `rewritten` to the offset of the same character in `input`, or -1.
 * Whitespace in `rewritten` always maps to -1.
 */
export function alignRewritten(
  rewritten: string,
  input: string,
  options: AlignOutputOptions = {},
): Int32Array {
  const k = options.chunk ?? 4;
  const window = options.window ?? 200;
  const map = new Int32Array(rewritten.length).fill(-1);
  const out = nonSpace(rewritten);
  const inp = nonSpace(input);
  if (out.keys.length === 0 || inp.keys.length === 0) return map;
  let i0 = 0;
  while (i0 < out.pos.length && out.pos[i0] < (options.from ?? 0)) i0++;
  // The start may follow a preamble of any length, and the rewrite may begin anywhere in the input.
  const first = resync(out.keys, inp.keys, i0, 0, out.keys.length, inp.keys.length, k);
  if (!first) return map;
  let i = i0 + first.a;
  let j = first.b;
  while (i < out.keys.length && j < inp.keys.length) {
    if (out.keys[i] === inp.keys[j]) {
      map[out.pos[i]] = inp.pos[j];
      i++;
      j++;
      continue;
    }
    const r = resync(out.keys, inp.keys, i, j, window, window, k);
    if (!r) break;
    i += r.a;
    j += r.b;
  }
  return map;
}

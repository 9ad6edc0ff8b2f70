/**
 * Long inputs are cut into overlapping windows of subword tokens, never truncated: each window
 * holds at most `size` tokens, consecutive windows share at least `stride` tokens, and the last
 * window ends at the last token (so it is full too). Each token then takes its prediction from the
 * window where it has the most context on both sides (a window edge that is the text's own edge
 * costs no context).
 */

export interface Window {
  /** First token (inclusive) and end (exclusive), in the sentence's subword positions. */
  start: number;
  end: number;
}

export function planWindows(length: number, size: number, stride: number): Window[] {
  if (!(size >= 1)) throw new RangeError(`window size ${size} must be at least 1`);
  if (!(stride >= 0 && stride < size)) throw new RangeError(`stride ${stride} must be in 0..${size - 1}`);
  if (length <= size) return [{ start: 0, end: length }];
  const step = size - stride;
  const out: Window[] = [];
  for (let start = 0; ; start += step) {
    if (start + size >= length) {
      out.push({ start: length - size, end: length });
      return out;
    }
    out.push({ start, end: start + size });
  }
}

/** For each token, the index of the window its prediction comes from. */
export function ownerWindows(length: number, windows: readonly Window[]): Int32Array {
  const owner = new Int32Array(length).fill(-1);
  const best = new Float64Array(length).fill(-1);
  windows.forEach((w, k) => {
    for (let p = w.start; p < w.end; p++) {
      const left = w.start === 0 ? Number.POSITIVE_INFINITY : p - w.start;
      const right = w.end === length ? Number.POSITIVE_INFINITY : w.end - 1 - p;
      const margin = Math.min(left, right);
      if (margin > best[p]) {
        best[p] = margin;
        owner[p] = k;
      }
    }
  });
  for (let p = 0; p < length; p++) if (owner[p] < 0) throw new Error(`token ${p} is in no window`);
  return owner;
}

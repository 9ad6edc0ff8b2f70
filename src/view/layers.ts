/**
 * How the page draws entities that overlap. Nested ones (one inside the other) are highlights
 * inside highlights. Crossing ones (A covers 0-10, B 5-15: each starts inside the other and ends
 * outside it) cannot both be one element each: the first layer keeps entities that nest, drawn
 * whole as highlights; an entity crossing one of them goes to the next layer, drawn as an
 * underline that is cut into pieces where the layers below begin or end (its type once, at its end).
 */

interface Span {
  start: number;
  end: number;
}

/** Whether each of `a` and `b` starts inside the other and ends outside it. */
export function crosses(a: Span, b: Span): boolean {
  return (
    (a.start < b.start && b.start < a.end && a.end < b.end) ||
    (b.start < a.start && a.start < b.end && b.end < a.end)
  );
}

/** Outer before inner: by start, the longer first, then in the given order. */
export function outerFirst(a: Span & { i: number }, b: Span & { i: number }): number {
  return a.start - b.start || b.end - a.end || a.i - b.i;
}

/**
 * The layer of each span (in the given order): 0 for the spans that nest, outer ones first; a span
 * crossing one of layer k goes to layer k + 1 (or further). Within a layer no two spans cross.
 */
export function entityLayers(spans: readonly Span[]): number[] {
  const order = spans.map((s, i) => ({ start: s.start, end: s.end, i })).sort(outerFirst);
  const members: Span[][] = [];
  const layer = new Array<number>(spans.length).fill(0);
  for (const s of order) {
    let l = 0;
    while (members[l]?.some((m) => crosses(m, s))) l++;
    members[l] ??= [];
    members[l].push(s);
    layer[s.i] = l;
  }
  return layer;
}

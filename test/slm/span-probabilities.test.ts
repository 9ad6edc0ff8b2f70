import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tagsFromSpans } from '../../src/core/tags.js';
import type { TagScheme } from '../../src/core/types.js';
import { independentSpanProbabilities } from '../../src/slm/span-probabilities.js';

/** Every tag sequence of length n over `labels`, with its probability under independent tokens. */
function* sequences(
  marginals: number[][],
  labels: string[],
  prefix: string[] = [],
  p = 1,
): Generator<[string[], number]> {
  const t = prefix.length;
  if (t === marginals.length) {
    yield [prefix, p];
    return;
  }
  for (const [i, l] of labels.entries())
    yield* sequences(marginals, labels, [...prefix, l], p * marginals[t][i]);
}

/** A deterministic distribution per token. */
function distributions(n: number, L: number, seed: number): number[][] {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 + 0.05;
  };
  return Array.from({ length: n }, () => {
    const row = Array.from({ length: L }, rand);
    const sum = row.reduce((a, b) => a + b, 0);
    return row.map((x) => x / sum);
  });
}

for (const [scheme, labels] of [
  ['BIO', ['O', 'B-A', 'I-A', 'B-B', 'I-B']],
  ['BIOES', ['O', 'B-A', 'I-A', 'E-A', 'S-A']],
] as Array<[TagScheme, string[]]>) {
  test(`independent span probabilities (${scheme}) equal the enumerated probability of spelling exactly that span`, () => {
    const n = 4;
    const marginals = distributions(n, labels.length, scheme.length);
    const spans = [0, 1, 2, 3].flatMap((i) =>
      [1, 2, 3, 4].filter((e) => e > i).map((end) => ({ start: i, end })),
    );
    const got = independentSpanProbabilities(labels, scheme, marginals, spans);
    const continues = (type: string) => new Set(['I', 'M', 'E'].map((x) => `${x}-${type}`));
    for (const [k, { start, end }] of spans.entries()) {
      for (const type of ['A', 'B'].filter((t) => labels.some((l) => l.endsWith(`-${t}`)))) {
        const path = tagsFromSpans(end - start, [{ start: 0, end: end - start, type }], scheme);
        let expected = 0;
        for (const [tags, p] of sequences(marginals, labels)) {
          const spelled = path.every((tag, i) => tags[start + i] === tag);
          if (spelled && (end === n || !continues(type).has(tags[end]))) expected += p;
        }
        assert.ok(
          Math.abs(got[k][type] - expected) < 1e-12,
          `${scheme} ${start}-${end} ${type}: ${got[k][type]} vs ${expected}`,
        );
      }
    }
  });
}

test('independent span probabilities: a span outside the sentence is no entity', () => {
  const m = distributions(2, 3, 7);
  assert.deepEqual(independentSpanProbabilities(['O', 'B-A', 'I-A'], 'BIO', m, [{ start: 1, end: 3 }]), [{}]);
});

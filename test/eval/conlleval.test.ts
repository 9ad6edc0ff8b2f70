/**
 * Cross-check with conlleval (CoNLL-2000 version 2004-01-26, Erik Tjong Kim Sang). The expected
 * numbers below are the output of running that Perl script on the same tagged tokens
 * (reproduce: write the tokens as "token gold pred" lines, sentences separated by blank
 * lines, and run `perl conlleval.pl < file`). They include two conlleval conventions that
 * spansFromTags follows: an I- tag after O starts an entity, and an I- tag after another type
 * starts a new entity.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spansFromTags } from '../../src/core/tags.js';
import type { NerDocument } from '../../src/core/types.js';
import { evaluate } from '../../src/eval/index.js';

const SENTENCES: [string, string, string][][] = [
  [
    ['John', 'B-PER', 'I-PER'],
    ['lives', 'O', 'O'],
    ['in', 'O', 'O'],
    ['New', 'B-LOC', 'B-LOC'],
    ['York', 'I-LOC', 'I-LOC'],
    ['City', 'I-LOC', 'O'],
    ['.', 'O', 'O'],
  ],
  [
    ['Apple', 'B-ORG', 'B-ORG'],
    ['and', 'O', 'O'],
    ['Google', 'B-ORG', 'I-LOC'],
    ['hired', 'O', 'O'],
    ['Mary', 'B-PER', 'B-PER'],
    ['Ann', 'I-PER', 'I-PER'],
    ['Smith', 'I-PER', 'I-ORG'],
  ],
  [
    ['Paris', 'B-PER', 'B-LOC'],
    ['Hilton', 'I-PER', 'I-PER'],
    ['visited', 'O', 'O'],
    ['Rome', 'B-LOC', 'O'],
    ['today', 'O', 'I-MISC'],
    ['.', 'O', 'O'],
  ],
  [
    ['He', 'O', 'O'],
    ['met', 'O', 'I-PER'],
    ['Bill', 'I-PER', 'I-PER'],
    ['Gates', 'I-PER', 'I-PER'],
  ],
];

function toDocument(id: string, rows: [string, string, string][], column: 1 | 2): NerDocument {
  const words = rows.map((r) => r[0]);
  const text = words.join(' ');
  const starts: number[] = [];
  let at = 0;
  for (const w of words) {
    starts.push(at);
    at += w.length + 1;
  }
  const entities = spansFromTags(rows.map((r) => r[column])).map((s) => {
    const start = starts[s.start];
    const end = starts[s.end - 1] + words[s.end - 1].length;
    return { start, end, type: s.type, text: text.slice(start, end) };
  });
  return { id, text, entities };
}

describe('agreement with conlleval', () => {
  const gold = SENTENCES.map((s, i) => toDocument(`s${i}`, s, 1));
  const pred = SENTENCES.map((s, i) => toDocument(`s${i}`, s, 2));
  const r = evaluate(gold, pred, { bootstrap: 0 });
  const pct = (x: number) => Number((100 * x).toFixed(2));

  it('overall: 8 phrases, found 10, correct 2; precision 20.00, recall 25.00, FB1 22.22', () => {
    assert.equal(r.micro.tp + r.micro.fn, 8);
    assert.equal(r.micro.tp + r.micro.fp, 10);
    assert.equal(r.micro.tp, 2);
    assert.deepEqual([pct(r.micro.p), pct(r.micro.r), pct(r.micro.f1)], [20, 25, 22.22]);
  });

  it('per type, as conlleval prints it', () => {
    const expected: Record<string, [number, number, number, number]> = {
      LOC: [0, 0, 0, 3],
      MISC: [0, 0, 0, 1],
      ORG: [50, 50, 50, 2],
      PER: [25, 25, 25, 4],
    };
    for (const [type, [p, rec, f1, found]] of Object.entries(expected)) {
      const s = r.per_type[type];
      assert.deepEqual([pct(s.p), pct(s.r), pct(s.f1), s.tp + s.fp], [p, rec, f1, found], type);
    }
  });
});

describe('agreement with the seqeval classification_report example', () => {
  // seqeval's README / docstring: MISC 0.00 0.00 0.00 (support 1), PER 1.00 1.00 1.00 (1),
  // micro avg 0.50 0.50 0.50, macro avg 0.50 0.50 0.50.
  const sentences: [string, string, string][][] = [
    ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((w, i) => [
      w,
      ['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'][i],
      ['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'][i],
    ]),
    ['h', 'i', 'j'].map((w, i) => [w, ['B-PER', 'I-PER', 'O'][i], ['B-PER', 'I-PER', 'O'][i]]),
  ];
  const r = evaluate(
    sentences.map((s, i) => toDocument(`s${i}`, s, 1)),
    sentences.map((s, i) => toDocument(`s${i}`, s, 2)),
    { bootstrap: 0 },
  );

  it('per type, micro and macro', () => {
    assert.deepEqual(
      [r.per_type.MISC.p, r.per_type.MISC.r, r.per_type.MISC.f1, r.per_type.MISC.support],
      [0, 0, 0, 1],
    );
    assert.deepEqual(
      [r.per_type.PER.p, r.per_type.PER.r, r.per_type.PER.f1, r.per_type.PER.support],
      [1, 1, 1, 1],
    );
    assert.deepEqual([r.micro.p, r.micro.r, r.micro.f1], [0.5, 0.5, 0.5]);
    assert.equal(r.macro_f1, 0.5);
  });
});

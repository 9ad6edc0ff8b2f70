import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate } from '../../src/eval/index.js';
import { close, doc, ent } from './helpers.js';

const TEXT = 'Alice met Bob Smith in New York City today';
const gold = [
  doc('d1', TEXT, [
    ent(TEXT, 'Alice', 'PER'),
    ent(TEXT, 'Bob Smith', 'PER'),
    ent(TEXT, 'New York City', 'LOC'),
  ]),
];
const pred = [
  doc('d1', TEXT, [
    ent(TEXT, 'Alice', 'ORG'), // type confusion
    ent(TEXT, 'Bob', 'PER'), // boundary error
    ent(TEXT, 'New York City', 'LOC'), // correct
    ent(TEXT, 'New York City', 'LOC'), // duplicate: counts once
    ent(TEXT, 'today', 'MISC'), // spurious
  ]),
];

describe('strict entity scores', () => {
  const r = evaluate(gold, pred, { bootstrap: 0 });

  it('micro P/R/F1 on exact start, end and type', () => {
    assert.deepEqual([r.micro.tp, r.micro.fp, r.micro.fn], [1, 3, 2]);
    close(r.micro.p, 1 / 4, 'P');
    close(r.micro.r, 1 / 3, 'R');
    close(r.micro.f1, 2 / 7, 'F1');
  });

  it('per-type table with support', () => {
    assert.deepEqual(Object.keys(r.per_type), ['LOC', 'MISC', 'ORG', 'PER']);
    assert.deepEqual(r.per_type.LOC, { p: 1, r: 1, f1: 1, tp: 1, fp: 0, fn: 0, support: 1 });
    assert.deepEqual(r.per_type.PER, { p: 0, r: 0, f1: 0, tp: 0, fp: 1, fn: 2, support: 2 });
    assert.deepEqual(r.per_type.ORG, { p: 0, r: 0, f1: 0, tp: 0, fp: 1, fn: 0, support: 0 });
    assert.equal(r.per_type.MISC.support, 0);
  });

  it('macro F1 averages over the types of gold and prediction', () => {
    close(r.macro_f1, (1 + 0 + 0 + 0) / 4, 'macro');
  });

  it('span-only scores ignore the type', () => {
    assert.deepEqual([r.span.tp, r.span.fp, r.span.fn], [2, 2, 1]);
    close(r.span.p, 1 / 2);
    close(r.span.r, 2 / 3);
    close(r.span_f1, 4 / 7);
    close(r.span.f1, r.span_f1);
  });

  it('counts documents', () => {
    assert.equal(r.documents, 1);
    assert.equal(r.missing_predictions, 0);
  });
});

describe('edge cases', () => {
  it('duplicated predictions count once', () => {
    const g = [doc('a', 'Alice', [ent('Alice', 'Alice', 'PER')])];
    const p = [doc('a', 'Alice', [ent('Alice', 'Alice', 'PER'), ent('Alice', 'Alice', 'PER')])];
    const r = evaluate(g, p, { bootstrap: 0 });
    assert.deepEqual([r.micro.tp, r.micro.fp, r.micro.fn], [1, 0, 0]);
    assert.equal(r.micro.f1, 1);
    assert.equal(r.muc.spurious, 0);
  });

  it('empty gold: every prediction is a false positive, F1 0', () => {
    const g = [doc('a', 'Alice', [])];
    const p = [doc('a', 'Alice', [ent('Alice', 'Alice', 'PER')])];
    const r = evaluate(g, p, { bootstrap: 0 });
    assert.deepEqual(
      [r.micro.tp, r.micro.fp, r.micro.fn, r.micro.p, r.micro.r, r.micro.f1],
      [0, 1, 0, 0, 0, 0],
    );
    assert.equal(r.per_type.PER.support, 0);
    assert.equal(r.macro_f1, 0);
  });

  it('empty prediction: F1 0, nothing is NaN', () => {
    const t = 'Alice and Bob';
    const g = [doc('a', t, [ent(t, 'Alice', 'PER'), ent(t, 'Bob', 'PER')])];
    const r = evaluate(g, [doc('a', t, [])], { bootstrap: 20 });
    assert.deepEqual([r.micro.tp, r.micro.fp, r.micro.fn, r.micro.f1], [0, 0, 2, 0]);
    assert.ok(!JSON.stringify(r).includes('null'));
    assert.equal(r.span_f1, 0);
    assert.equal(r.token_macro.f1, 0);
    assert.equal(r.muc.missed, 2);
  });

  it('both empty: all scores 0 (zero_division = 0), no NaN', () => {
    const r = evaluate([doc('a', 'nothing here', [])], [doc('a', 'nothing here', [])], { bootstrap: 10 });
    assert.deepEqual(r.micro, { p: 0, r: 0, f1: 0, tp: 0, fp: 0, fn: 0 });
    assert.equal(r.macro_f1, 0);
    assert.deepEqual(r.per_type, {});
    assert.equal(r.token_macro.types, 0);
    assert.equal(r.token_macro.f1, 0);
    assert.deepEqual([r.bootstrap?.f1_low, r.bootstrap?.f1_high], [0, 0]);
    // JSON.stringify writes NaN as null: none may appear.
    assert.ok(!JSON.stringify(r).includes('null'));
  });

  it('no documents at all', () => {
    const r = evaluate([], [], {});
    assert.equal(r.documents, 0);
    assert.equal(r.micro.f1, 0);
    assert.equal(r.bootstrap, null);
  });

  it('gold against itself scores 1 everywhere', () => {
    const r = evaluate(gold, gold, { bootstrap: 50 });
    assert.equal(r.micro.f1, 1);
    assert.equal(r.macro_f1, 1);
    assert.equal(r.span_f1, 1);
    assert.equal(r.token_macro.f1, 1);
    assert.equal(r.muc.schemas.partial.f1, 1);
    assert.deepEqual([r.bootstrap?.f1_low, r.bootstrap?.f1_high], [1, 1]);
  });

  it('nested gold spans are independent entities', () => {
    const t = 'Bank of China branch';
    const g = [doc('n', t, [ent(t, 'Bank of China', 'ORG'), ent(t, 'China', 'LOC')])];
    const both = evaluate(g, [doc('n', t, [ent(t, 'Bank of China', 'ORG'), ent(t, 'China', 'LOC')])], {
      bootstrap: 0,
    });
    assert.deepEqual([both.micro.tp, both.micro.fp, both.micro.fn], [2, 0, 0]);
    const outer = evaluate(g, [doc('n', t, [ent(t, 'Bank of China', 'ORG')])], { bootstrap: 0 });
    assert.deepEqual([outer.micro.tp, outer.micro.fp, outer.micro.fn], [1, 0, 1]);
    assert.equal(outer.per_type.LOC.f1, 0);
    close(outer.macro_f1, 0.5);
  });

  it('crossing (overlapping) gold spans are independent entities', () => {
    const t = 'New York Times Square';
    const g = [doc('o', t, [ent(t, 'New York Times', 'ORG'), ent(t, 'Times Square', 'LOC')])];
    const r = evaluate(g, [doc('o', t, [ent(t, 'Times Square', 'LOC')])], { bootstrap: 0 });
    assert.deepEqual([r.micro.tp, r.micro.fp, r.micro.fn], [1, 0, 1]);
    close(r.micro.f1, 2 / 3);
  });

  it('sums counts over documents (micro) and scores a missing prediction as empty', () => {
    const t1 = 'Alice and Bob';
    const t2 = 'Paris';
    const g = [
      doc('1', t1, [ent(t1, 'Alice', 'PER'), ent(t1, 'Bob', 'PER')]),
      doc('2', t2, [ent(t2, 'Paris', 'LOC')]),
    ];
    const r = evaluate(g, [doc('1', t1, [ent(t1, 'Alice', 'PER')])], { bootstrap: 0 });
    assert.equal(r.missing_predictions, 1);
    assert.equal(r.documents, 2);
    assert.deepEqual([r.micro.tp, r.micro.fp, r.micro.fn], [1, 0, 2]);
    close(r.micro.r, 1 / 3);
    close(r.micro.p, 1);
    close(r.micro.f1, 0.5);
    close(r.macro_f1, (2 / 3 + 0) / 2);
  });
});

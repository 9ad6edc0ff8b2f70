import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { documentTokens, evaluate } from '../../src/eval/index.js';
import { close, doc, ent } from './helpers.js';

const TEXT = 'Alice met Bob Smith in New York City today';

describe('token-level macro scores', () => {
  it('matches scikit-learn macro over non-O token labels on a hand-computed case', () => {
    // tokens:  Alice met Bob Smith in New York City today
    // gold:    PER   O   PER PER   O  LOC LOC  LOC  O
    // pred:    ORG   O   PER O     O  LOC LOC  LOC  MISC
    // PER p=1 r=1/3 f1=1/2; LOC 1/1/1; ORG 0/0/0; MISC 0/0/0
    const g = [
      doc('d', TEXT, [
        ent(TEXT, 'Alice', 'PER'),
        ent(TEXT, 'Bob Smith', 'PER'),
        ent(TEXT, 'New York City', 'LOC'),
      ]),
    ];
    const p = [
      doc('d', TEXT, [
        ent(TEXT, 'Alice', 'ORG'),
        ent(TEXT, 'Bob', 'PER'),
        ent(TEXT, 'New York City', 'LOC'),
        ent(TEXT, 'today', 'MISC'),
      ]),
    ];
    const r = evaluate(g, p, { bootstrap: 0 });
    assert.equal(r.token_macro.types, 4);
    assert.deepEqual(r.token_macro.per_type.PER, { p: 1, r: 1 / 3, f1: 0.5, tp: 1, fp: 0, fn: 2 });
    assert.deepEqual(r.token_macro.per_type.LOC, { p: 1, r: 1, f1: 1, tp: 3, fp: 0, fn: 0 });
    close(r.token_macro.p, (1 + 1 + 0 + 0) / 4);
    close(r.token_macro.r, (1 / 3 + 1 + 0 + 0) / 4);
    close(r.token_macro.f1, (0.5 + 1 + 0 + 0) / 4);
  });

  it('sums token counts over documents before averaging', () => {
    const a = 'Alice Bob';
    const b = 'Carol';
    const g = [
      doc('a', a, [ent(a, 'Alice', 'PER'), ent(a, 'Bob', 'PER')]),
      doc('b', b, [ent(b, 'Carol', 'PER')]),
    ];
    const p = [doc('a', a, [ent(a, 'Alice', 'PER')]), doc('b', b, [ent(b, 'Carol', 'PER')])];
    const r = evaluate(g, p, { bootstrap: 0 });
    assert.deepEqual(r.token_macro.per_type.PER, { p: 1, r: 2 / 3, f1: 0.8, tp: 2, fp: 0, fn: 1 });
    close(r.token_macro.f1, 0.8);
  });

  it('labels a token touched by part of an entity, and counts nested types separately', () => {
    const t = 'Bank of China branch';
    const g = [doc('n', t, [ent(t, 'Bank of China', 'ORG'), ent(t, 'China', 'LOC')])];
    // "Bank of Chi" covers part of the token "China": the token counts as ORG
    const p = [doc('n', t, [ent(t, 'Bank of Chi', 'ORG')])];
    const r = evaluate(g, p, { bootstrap: 0 });
    assert.deepEqual(r.token_macro.per_type.ORG, { p: 1, r: 1, f1: 1, tp: 3, fp: 0, fn: 0 });
    assert.deepEqual(r.token_macro.per_type.LOC, { p: 0, r: 0, f1: 0, tp: 0, fp: 0, fn: 1 });
    close(r.token_macro.f1, 0.5);
    assert.equal(r.micro.tp, 0);
  });

  it('uses the gold tokens when the document has them', () => {
    const t = 'New-York';
    const d = {
      id: 'x',
      text: t,
      entities: [],
      tokens: [
        { text: 'New', start: 0, end: 3 },
        { text: '-York', start: 3, end: 8 },
      ],
    };
    assert.equal(documentTokens(d).length, 2);
    assert.deepEqual(
      documentTokens({ id: 'y', text: 'New York !', entities: [] }).map((k) => k.text),
      ['New', 'York', '!'],
    );
    const r = evaluate(
      [{ ...d, entities: [ent(t, 'New', 'LOC')] }],
      [doc('x', t, [ent(t, 'New-York', 'LOC')])],
      {
        bootstrap: 0,
      },
    );
    assert.deepEqual(r.token_macro.per_type.LOC, { p: 0.5, r: 1, f1: 2 / 3, tp: 1, fp: 1, fn: 0 });
  });
});

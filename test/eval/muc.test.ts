import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate, mucDocument, mucSchemas } from '../../src/eval/index.js';
import { close, doc, ent } from './helpers.js';

const TEXT = 'Alice met Bob Smith in New York City today';
const gold = [ent(TEXT, 'Alice', 'PER'), ent(TEXT, 'Bob Smith', 'PER'), ent(TEXT, 'New York City', 'LOC')];
const pred = [
  ent(TEXT, 'Alice', 'ORG'),
  ent(TEXT, 'Bob', 'PER'),
  ent(TEXT, 'New York City', 'LOC'),
  ent(TEXT, 'today', 'MISC'),
];

describe('MUC / SemEval-2013 categories', () => {
  it('sorts every entity into one category', () => {
    assert.deepEqual(mucDocument(gold, pred), {
      correct: 1,
      incorrect: 1,
      partial: 1,
      partial_same_type: 1,
      missed: 0,
      spurious: 1,
    });
  });

  it('derives the four nervaluate schemas', () => {
    const s = mucSchemas(mucDocument(gold, pred));
    // strict: only exact span + type is correct
    assert.deepEqual(
      [s.strict.correct, s.strict.incorrect, s.strict.partial, s.strict.possible, s.strict.actual],
      [1, 2, 0, 3, 4],
    );
    close(s.strict.p, 1 / 4);
    close(s.strict.r, 1 / 3);
    // exact: boundaries only
    assert.deepEqual([s.exact.correct, s.exact.incorrect], [2, 1]);
    close(s.exact.p, 2 / 4);
    close(s.exact.r, 2 / 3);
    // partial: half credit for overlap
    assert.deepEqual([s.partial.correct, s.partial.partial], [2, 1]);
    close(s.partial.p, 2.5 / 4);
    close(s.partial.r, 2.5 / 3);
    close(s.partial.f1, (2 * 0.625 * (2.5 / 3)) / (0.625 + 2.5 / 3));
    // type: overlap with the right type
    assert.deepEqual([s.type.correct, s.type.incorrect], [2, 1]);
    close(s.type.p, 2 / 4);
  });

  it('strict schema equals the strict micro scores (one-to-one matching)', () => {
    const r = evaluate([doc('d', TEXT, gold)], [doc('d', TEXT, pred)], { bootstrap: 0 });
    close(r.muc.schemas.strict.p, r.micro.p);
    close(r.muc.schemas.strict.r, r.micro.r);
    close(r.muc.schemas.strict.f1, r.micro.f1);
  });

  it('boundary errors: one-to-one, the larger overlap wins, the other prediction is spurious', () => {
    const g = [ent(TEXT, 'New York City', 'LOC')];
    const p = [ent(TEXT, 'New York', 'LOC'), ent(TEXT, 'York City', 'LOC')];
    assert.deepEqual(mucDocument(g, p), {
      correct: 0,
      incorrect: 0,
      partial: 1,
      partial_same_type: 1,
      missed: 0,
      spurious: 1,
    });
  });

  it('overlap with another type is partial for boundaries, incorrect for type', () => {
    const g = [ent(TEXT, 'New York City', 'LOC')];
    const p = [ent(TEXT, 'New York', 'ORG')];
    const c = mucDocument(g, p);
    assert.deepEqual([c.partial, c.partial_same_type], [1, 0]);
    const s = mucSchemas(c);
    assert.deepEqual([s.type.correct, s.type.incorrect], [0, 1]);
    assert.deepEqual([s.partial.partial, s.exact.incorrect], [1, 1]);
  });

  it('prefers the same type when overlaps are equal', () => {
    const t = 'aa bb cc';
    const g = [ent(t, 'aa bb', 'X'), ent(t, 'bb cc', 'Y')];
    const p = [ent(t, 'bb', 'Y')];
    const c = mucDocument(g, p);
    assert.deepEqual([c.partial, c.partial_same_type, c.missed], [1, 1, 1]);
  });

  it('a gold entity taken by an exact match is not reused for a partial one (nested gold)', () => {
    const t = 'Bank of China branch';
    const g = [ent(t, 'Bank of China', 'ORG'), ent(t, 'China', 'LOC')];
    const c = mucDocument(g, [ent(t, 'Bank of China', 'ORG')]);
    assert.deepEqual([c.correct, c.partial, c.missed, c.spurious], [1, 0, 1, 0]);
  });

  it('empty sides', () => {
    assert.deepEqual(mucDocument([], []), {
      correct: 0,
      incorrect: 0,
      partial: 0,
      partial_same_type: 0,
      missed: 0,
      spurious: 0,
    });
    const s = mucSchemas(mucDocument([], [ent(TEXT, 'today', 'MISC')]));
    assert.deepEqual([s.strict.spurious, s.strict.p, s.strict.r, s.strict.f1], [1, 0, 0, 0]);
  });
});

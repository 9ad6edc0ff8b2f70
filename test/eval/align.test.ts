import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { evaluate, pairDocuments } from '../../src/eval/index.js';
import { doc, ent } from './helpers.js';

const t = 'Alice and Bob';
const gold = [doc('g1', t, [ent(t, 'Alice', 'PER')]), doc('g2', t, [])];

describe('pairing gold and predicted documents', () => {
  it('a prediction for an unknown id is an error naming the id and the file', () => {
    assert.throws(
      () => evaluate(gold, [doc('nope-7', t, [])], { predFile: 'runs/pred.jsonl' }),
      (err: unknown) =>
        err instanceof InputError &&
        err.message.includes('"nope-7"') &&
        err.message.includes('runs/pred.jsonl'),
    );
  });

  it('missing predictions are empty and counted', () => {
    const p = pairDocuments(gold, [doc('g2', t, [])]);
    assert.equal(p.missing, 1);
    assert.deepEqual(
      p.pairs.map((x) => [x.gold.id, x.missing, x.pred.entities.length]),
      [
        ['g1', true, 0],
        ['g2', false, 0],
      ],
    );
  });

  it('keeps the gold order whatever the prediction order', () => {
    const p = pairDocuments(gold, [doc('g2', t, []), doc('g1', t, [])]);
    assert.deepEqual(
      p.pairs.map((x) => x.pred.id),
      ['g1', 'g2'],
    );
  });

  it('rejects duplicate ids, a different text and spans outside the text', () => {
    assert.throws(() => pairDocuments([...gold, gold[0]], []), /"g1" appears twice/);
    assert.throws(() => pairDocuments(gold, [doc('g1', t, []), doc('g1', t, [])]), /"g1" appears twice/);
    assert.throws(() => pairDocuments(gold, [doc('g1', 'Alice and Bob!', [])]), /text differs/);
    assert.throws(
      () =>
        pairDocuments(gold, [doc('g1', t, [{ start: 10, end: 20, type: 'PER', text: 'Bob' }])], {
          predFile: 'p',
        }),
      (err: unknown) => err instanceof InputError && /outside|inside the text/.test(err.message),
    );
    assert.throws(
      () => pairDocuments(gold, [doc('g1', t, [{ start: 3, end: 3, type: 'PER', text: '' }])]),
      InputError,
    );
  });
});

describe('pairing by order', () => {
  it('pairs the i-th documents whatever their ids', () => {
    const p = pairDocuments(gold, [doc('x-0', t, [ent(t, 'Bob', 'PER')]), doc('x-1', t, [])], {
      matchBy: 'order',
    });
    assert.equal(p.missing, 0);
    assert.deepEqual(
      p.pairs.map((x) => [x.gold.id, x.pred.id]),
      [
        ['g1', 'x-0'],
        ['g2', 'x-1'],
      ],
    );
    const r = evaluate(gold, [doc('x-0', t, [ent(t, 'Alice', 'PER')]), doc('x-1', t, [])], {
      matchBy: 'order',
      bootstrap: 0,
    });
    assert.equal(r.micro.f1, 1);
  });

  it('an empty prediction is every document missing', () => {
    const p = pairDocuments(gold, [], { matchBy: 'order' });
    assert.equal(p.missing, 2);
  });

  it('needs as many predictions as gold documents, with the same texts', () => {
    assert.throws(
      () => pairDocuments(gold, [doc('x-0', t, [])], { matchBy: 'order', predFile: 'p.conll' }),
      (err: unknown) =>
        err instanceof InputError && /as many/.test(err.message) && err.message.includes('p.conll'),
    );
    assert.throws(
      () => pairDocuments(gold, [doc('x-0', t, []), doc('x-1', 'other', [])], { matchBy: 'order' }),
      /document 2 \("x-1"\): the predicted text differs/,
    );
  });
});

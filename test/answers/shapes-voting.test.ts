import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseJointAnswer,
  parseSpanAnswer,
  parseTypeAnswer,
  parseVerifyAnswer,
} from '../../src/answers/shapes.js';
import { combineSystems } from '../../src/el4ner/voting/combine.js';
import { decideType, weightsFromConfig } from '../../src/el4ner/voting/decide.js';
import { unionSpans } from '../../src/el4ner/voting/union.js';

describe('parsing model answers', () => {
  it('accepts spans as strings or objects, bare arrays and junk items', () => {
    const r = parseSpanAnswer({
      spans: ['Obama', { text: 'Paris', occurrence: 2 }, { span: 'EU' }, 42, null, {}],
    });
    assert.deepEqual(r.mentions, [
      { text: 'Obama' },
      { text: 'Paris', occurrence: 2 },
      { text: 'EU' },
      { text: '42' },
    ]);
    assert.equal(r.invalid, 2);
    assert.deepEqual(parseSpanAnswer(['A']).mentions, [{ text: 'A' }]);
    assert.deepEqual(parseSpanAnswer(undefined).mentions, []);
    assert.deepEqual(parseSpanAnswer({ spans: [] }).mentions, []);
  });

  it('reads type answers by id, by span text, in order, or as a map', () => {
    const spans = ['Obama', 'Paris', 'Paris'];
    assert.deepEqual(
      [
        ...parseTypeAnswer(
          {
            answers: [
              { id: 2, type: 'LOC' },
              { id: '1', type: 'PER' },
            ],
          },
          spans,
        ),
      ],
      [
        [2, 'LOC'],
        [1, 'PER'],
      ],
    );
    assert.deepEqual(
      [
        ...parseTypeAnswer(
          {
            answers: [
              { span: 'paris', type: 'LOC' },
              { span: 'Paris', type: 'ORG' },
            ],
          },
          spans,
        ),
      ],
      [
        [2, 'LOC'],
        [3, 'ORG'],
      ],
    );
    assert.deepEqual(
      [...parseTypeAnswer(['PER', 'LOC'], spans)],
      [
        [1, 'PER'],
        [2, 'LOC'],
      ],
    );
    assert.deepEqual([...parseTypeAnswer({ Obama: 'person' }, spans)], [[1, 'person']]);
    assert.equal(parseTypeAnswer({ answers: [{ id: 9, type: 'PER' }] }, spans).size, 0);
  });

  it('reads yes/no verdicts in their usual spellings', () => {
    const v = parseVerifyAnswer(
      {
        answers: [
          { id: 1, answer: 'Yes.' },
          { id: 2, valid: false },
          { id: 3, answer: 'maybe' },
        ],
      },
      3,
    );
    assert.deepEqual(
      [...v],
      [
        [1, true],
        [2, false],
      ],
    );
    assert.deepEqual(
      [...parseVerifyAnswer(['no', true], 2)],
      [
        [1, false],
        [2, true],
      ],
    );
  });

  it('reads joint answers', () => {
    assert.deepEqual(parseJointAnswer({ entities: [{ text: 'Obama', type: 'PER' }, { text: 'x' }] }), {
      mentions: [{ text: 'Obama', type: 'PER' }],
      invalid: 1,
      found: true,
    });
  });
});

describe('voting', () => {
  it('keeps the plurality type, drops a span only one of three typed', () => {
    const d = decideType([
      { voter: 'a', type: 'PER' },
      { voter: 'b', type: 'PER' },
      { voter: 'c', type: 'none' },
    ]);
    assert.equal(d.type, 'PER');
    assert.ok(Math.abs(d.score - 2 / 3) < 1e-12);
    const drop = decideType([
      { voter: 'a', type: 'ORG' },
      { voter: 'b', type: 'none' },
      { voter: 'c', type: 'none' },
    ]);
    assert.equal(drop.type, undefined);
  });

  it('breaks a type-type tie by voter order and drops a type-none tie', () => {
    const votes = [
      { voter: 'b', type: 'LOC' },
      { voter: 'a', type: 'PER' },
    ];
    assert.equal(decideType(votes, { voterOrder: ['a', 'b'] }).type, 'PER');
    assert.equal(decideType(votes, { voterOrder: ['b', 'a'] }).type, 'LOC');
    const tie = decideType([
      { voter: 'a', type: 'PER' },
      { voter: 'b', type: 'LOC' },
      { voter: 'c', type: 'none' },
    ]);
    assert.equal(tie.type, undefined, 'PER (1) ties none (1): dropped');
  });

  it('weights votes per model and per type', () => {
    const w = weightsFromConfig({ a: 3, b: { LOC: 0.5, none: 2 } });
    assert.equal(w('a', 'PER'), 3);
    assert.equal(w('b', 'LOC'), 0.5);
    assert.equal(w('b', 'ORG'), 1);
    assert.equal(w('c', 'LOC'), 1);
    const votes = [
      { voter: 'a', type: 'PER' },
      { voter: 'b', type: 'none' },
      { voter: 'c', type: 'none' },
    ];
    assert.equal(decideType(votes).type, undefined);
    assert.equal(decideType(votes, { weight: w }).type, undefined, 'PER 3 ties none 2 + 1: dropped');
    const w4 = weightsFromConfig({ a: 4, b: { LOC: 0.5, none: 2 } });
    const d = decideType(votes, { weight: w4 });
    assert.equal(d.type, 'PER');
    assert.ok(Math.abs(d.score - 4 / 7) < 1e-12);
  });

  it('unions spans with their proposers in model order', () => {
    const u = unionSpans([
      { model: 'b', spans: [{ start: 5, end: 9, text: 'x' }] },
      {
        model: 'a',
        spans: [
          { start: 5, end: 9, text: 'x' },
          { start: 0, end: 2, text: 'y' },
        ],
      },
    ]);
    assert.deepEqual(u, [
      { start: 0, end: 2, text: 'y', proposers: ['a'] },
      { start: 5, end: 9, text: 'x', proposers: ['b', 'a'] },
    ]);
  });

  it('combines systems by union, vote and span-vote-then-type', () => {
    const text = 'Obama met Merkel in Paris';
    const e = (start: number, end: number, type: string) => ({
      start,
      end,
      type,
      text: text.slice(start, end),
    });
    const systems = [
      { name: 's1', entities: [e(0, 5, 'PER'), e(20, 25, 'LOC')] },
      { name: 's2', entities: [e(0, 5, 'PER'), e(20, 25, 'ORG'), e(10, 16, 'PER')] },
      { name: 's3', entities: [e(0, 5, 'ORG'), e(20, 25, 'GPE')] },
    ];
    const key = (xs: { start: number; type: string }[]) => xs.map((x) => `${x.start}:${x.type}`);
    assert.deepEqual(key(combineSystems(text, systems, { strategy: 'union' })), [
      '0:ORG',
      '0:PER',
      '10:PER',
      '20:GPE',
      '20:LOC',
      '20:ORG',
    ]);
    assert.deepEqual(key(combineSystems(text, systems, { strategy: 'vote' })), ['0:PER']);
    assert.deepEqual(key(combineSystems(text, systems, { strategy: 'vote', minVotes: 1 })), [
      '0:PER',
      '10:PER',
      '20:LOC',
    ]);
    assert.deepEqual(key(combineSystems(text, systems, { strategy: 'span-vote-then-type' })), [
      '0:PER',
      '20:LOC',
    ]);
    assert.deepEqual(key(combineSystems(text, systems, { strategy: 'vote', weights: [1, 1, 5] })), [
      '0:ORG',
      '20:GPE',
    ]);
    const out = combineSystems(text, systems, { strategy: 'vote' });
    assert.deepEqual(out[0].sources, [
      { model: 's1', stage: 'ensemble', type: 'PER' },
      { model: 's2', stage: 'ensemble', type: 'PER' },
      { model: 's3', stage: 'ensemble', type: 'ORG' },
    ]);
    assert.ok(Math.abs((out[0].score ?? 0) - 2 / 3) < 1e-12);
  });
});

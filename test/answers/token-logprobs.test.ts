import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  choiceDistribution,
  choiceDistributionsById,
  locateTokens,
} from '../../src/answers/token-logprobs.js';
import type { TokenLogprob } from '../../src/engines/types.js';

const lp = Math.log;
const tok = (token: string, p = 1, top: Array<[string, number]> = []): TokenLogprob => ({
  token,
  logprob: lp(p),
  top: top.map(([t, q]) => ({ token: t, logprob: lp(q) })),
});
const close = (a: number | undefined, b: number) =>
  assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${a} vs ${b}`);

describe('choice probabilities from token logprobs', () => {
  const labels = ['LOC', 'MISC', 'ORG', 'PER', 'none'];

  it("reads each answer's type distribution where its value is written, by id", () => {
    const tokens = [
      tok('{"answers":[{"id":2,"type":"'),
      tok('PER', 0.6, [
        ['PER', 0.6],
        ['ORG', 0.2],
        ['none', 0.1],
      ]),
      tok('"},{"id":1,"type":"'),
      tok('none', 0.9, [
        ['none', 0.9],
        ['LOC', 0.05],
      ]),
      tok('"}]}'),
    ];
    const text = tokens.map((t) => t.token).join('');
    const d = choiceDistributionsById(text, locateTokens(text, tokens), 'type', labels);
    assert.deepEqual([...d.keys()], [2, 1]);
    assert.deepEqual([d.get(2)?.written, d.get(1)?.written], ['PER', 'none']);
    // normalised over the listed choices (0.9 of the mass for id 2)
    close(d.get(2)?.probs.PER, 0.6 / 0.9);
    close(d.get(2)?.probs.ORG, 0.2 / 0.9);
    close(d.get(1)?.probs.none, 0.9 / 0.95);
    close(d.get(1)?.probs.LOC, 0.05 / 0.95);
  });

  it('a token that merges the opening quote with the type: the alternatives are read after the same quote', () => {
    const tokens = [
      tok('{"id":1,"type":'),
      tok('"ORG', 0.5, [
        ['"PER', 0.3],
        [' "', 0.1],
        ['"LOC"', 0.1],
      ]),
      tok('"}'),
    ];
    const text = tokens.map((t) => t.token).join('');
    const d = choiceDistributionsById(text, locateTokens(text, tokens), 'type', labels).get(1)!.probs;
    // ' "' does not continue the quote: not counted; 'LOC"' ends the value, so it is LOC exactly
    close(d.ORG, 0.5 / 0.9);
    close(d.PER, 0.3 / 0.9);
    close(d.LOC, 0.1 / 0.9);
  });

  it('a first token two labels share goes to the written one; an unwritten shared one is split', () => {
    const choices = ['person', 'product', 'location', 'none'];
    const tokens = [
      tok('"'),
      tok('p', 0.5, [
        ['loc', 0.2],
        ['pro', 0.1],
        ['xyz', 0.1],
      ]),
      tok('erson"'),
    ];
    const text = tokens.map((t) => t.token).join('');
    const located = locateTokens(text, tokens);
    const d = choiceDistribution(located, 1, choices, 'person')!;
    close(d.person, 0.5 / 0.8);
    close(d.location, 0.2 / 0.8);
    close(d.product, 0.1 / 0.8);
    // the same shared token when the model wrote 'product': to product
    close(choiceDistribution(located, 1, choices, 'product')?.product, 0.6 / 0.8);
    // a token that leads to no choice at all, or no token there: nothing to read
    assert.equal(choiceDistribution(located, 1, choices, 'none'), undefined);
    assert.equal(choiceDistribution(located, 99, choices, 'person'), undefined);
  });

  it('answers in another shape, or whose type is no choice, are left to the hard vote; an id counts once', () => {
    const tokens2 = [
      tok('{"id":1,"type":"'),
      tok('PER', 0.7),
      tok('"} {"id":1,"type":"'),
      tok('ORG', 0.9),
      tok('"}'),
    ];
    const text2 = tokens2.map((t) => t.token).join('');
    assert.equal(
      choiceDistributionsById(text2, locateTokens(text2, tokens2), 'type', labels).get(1)?.written,
      'PER',
    );
    const text = '{"answers":[{"type":"PER"},{"id":3,"type":"Person"}]}';
    const tokens = [tok(text)];
    assert.equal(choiceDistributionsById(text, locateTokens(text, tokens), 'type', labels).size, 0);
  });
});

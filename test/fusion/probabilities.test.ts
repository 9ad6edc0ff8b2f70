import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TokenLogprob } from '../../src/engines/types.js';
import { parseInlineOutput } from '../../src/fusion/inline-tagging.js';
import {
  boundaryProbability,
  categoryProbability,
  entityProbability,
  locateTokens,
  opensTag,
  outsideProbability,
} from '../../src/fusion/probabilities.js';

const lp = (pairs: Array<[string, number]>): TokenLogprob[] =>
  pairs.map(([token, p]) => ({ token, logprob: Math.log(p) }));

function only(output: string, input: string, types = ['PER', 'LOC']) {
  const parse = parseInlineOutput(output, { text: input }, types);
  return parse.entities;
}

describe('LLM probabilities from token logprobs', () => {
  it('category and boundary with < PER > split into three tokens', () => {
    const out = '<PER>Obama</PER> visited Paris';
    const toks = lp([
      ['<', 0.9],
      ['PER', 0.6],
      ['>', 0.99],
      ['Obama', 0.8],
      ['</', 0.7],
      ['PER', 0.95],
      ['>', 0.99],
      [' visited', 0.5],
      [' Paris', 0.4],
    ]);
    const located = locateTokens(out, toks);
    assert.deepEqual(
      located.map((t) => [t.start, t.end]),
      [
        [0, 1],
        [1, 4],
        [4, 5],
        [5, 10],
        [10, 12],
        [12, 15],
        [15, 16],
        [16, 24],
        [24, 30],
      ],
    );
    const [e] = only(out, 'Obama visited Paris');
    assert.equal(e.markup.typeStart, 1);
    assert.ok(Math.abs((categoryProbability(e.markup, located) as number) - 0.6) < 1e-12);
    // Opening token '<' (no token before it), closing token '</' and the token before it, 'Obama'.
    assert.ok(Math.abs((boundaryProbability(e.markup, located) as number) - (0.9 + 0.7 + 0.8) / 3) < 1e-12);
    const mean = entityProbability('mean', e.markup, located) as number;
    assert.ok(Math.abs(mean - (0.6 + (0.9 + 0.7 + 0.8) / 3) / 2) < 1e-12);
  });

  it('counts the token before the opening markup, and a "<" glued to a space', () => {
    const out = 'He met <LOC>Paris</LOC>';
    const toks = lp([
      ['He', 0.9],
      [' met', 0.3],
      [' <', 0.5],
      ['LOC', 0.25],
      ['>', 0.99],
      ['Paris', 0.6],
      ['</', 0.8],
      ['LOC', 0.9],
      ['>', 0.99],
    ]);
    const located = locateTokens(out, toks);
    const [e] = only(out, 'He met Paris');
    assert.equal(e.text, 'Paris');
    assert.ok(Math.abs((categoryProbability(e.markup, located) as number) - 0.25) < 1e-12);
    assert.ok(
      Math.abs((boundaryProbability(e.markup, located) as number) - (0.5 + 0.3 + 0.8 + 0.6) / 4) < 1e-12,
    );
  });

  it('a tokeniser that merges <PER> into one token gives that token', () => {
    const out = '<PER>Obama</PER> spoke';
    const toks = lp([
      ['<PER>', 0.45],
      ['Obama', 0.9],
      ['</PER>', 0.85],
      [' spoke', 0.7],
    ]);
    const located = locateTokens(out, toks);
    const [e] = only(out, 'Obama spoke');
    assert.ok(Math.abs((categoryProbability(e.markup, located) as number) - 0.45) < 1e-12);
    assert.ok(Math.abs((boundaryProbability(e.markup, located) as number) - (0.45 + 0.85 + 0.9) / 3) < 1e-12);
  });

  it('an unclosed entity uses the opening pair only', () => {
    const out = 'Then <PER>Obama spoke';
    const toks = lp([
      ['Then', 0.5],
      [' <', 0.7],
      ['PER', 0.6],
      ['>', 0.99],
      ['Obama', 0.9],
      [' spoke', 0.8],
    ]);
    const located = locateTokens(out, toks);
    const [e] = only(out, 'Then Obama spoke');
    assert.equal(e.closed, false);
    assert.ok(Math.abs((boundaryProbability(e.markup, located) as number) - (0.7 + 0.5) / 2) < 1e-12);
  });

  it('tokens that do not concatenate to the text are searched ahead; unknown pieces cover nothing', () => {
    const out = '<PER>Obama</PER>';
    const toks = lp([
      ['<0xE2>', 0.1],
      ['<', 0.9],
      ['PER', 0.7],
      ['>', 0.9],
      ['Obama', 0.9],
      ['</', 0.9],
      ['PER', 0.9],
      ['>', 0.9],
    ]);
    const located = locateTokens(out, toks);
    assert.equal(located[0].start, located[0].end);
    const [e] = only(out, 'Obama');
    assert.ok(Math.abs((categoryProbability(e.markup, located) as number) - 0.7) < 1e-12);
  });

  it('no logprobs: the probability is undefined', () => {
    const [e] = only('<PER>Obama</PER>', 'Obama');
    assert.equal(entityProbability('category', e.markup, undefined), undefined);
    assert.equal(entityProbability('boundary', e.markup, []), undefined);
    assert.equal(entityProbability('mean', e.markup, undefined), undefined);
  });
});

describe('the LLM probability of leaving a token outside every entity', () => {
  const tok = (token: string, p: number, alts: Array<[string, number]> = []): TokenLogprob => ({
    token,
    logprob: Math.log(p),
    top: [{ token, logprob: Math.log(p) }, ...alts.map(([t, q]) => ({ token: t, logprob: Math.log(q) }))],
  });

  it('tells opening tags from closing tags and words', () => {
    for (const t of ['<', ' <', '<PER', ' <LOC>', '\n<']) assert.equal(opensTag(t), true, t);
    for (const t of ['</', ' </', 'Paris', ' ', '>', '<'.repeat(0)]) assert.equal(opensTag(t), false, t);
  });

  it('is the listed mass that does not open a tag where the word starts, read from the top alternatives', () => {
    const out = 'He met <LOC>Paris</LOC> today';
    const toks = [
      tok('He', 0.9),
      tok(' met', 0.7, [
        [' <', 0.2],
        [' Met', 0.05],
      ]),
      tok(' <', 0.6, [[' Paris', 0.35]]),
      tok('LOC', 0.8),
      tok('>', 0.99),
      tok('Paris', 0.99),
      tok('</', 0.9),
      tok('LOC', 0.99),
      tok('>', 0.99),
      tok(' today', 0.8, [
        [' <', 0.15],
        [' <DATE', 0.01],
      ]),
    ];
    const located = locateTokens(out, toks);
    const parse = parseInlineOutput(out, { text: 'He met Paris today' }, ['LOC']);
    // Where each input token was written in the answer.
    assert.deepEqual(parse.tokenOutput, [0, 3, 12, 24]);
    // "met": 0.7 written + 0.05 for " Met" (not an opening); " <" (0.2) opens a tag.
    assert.ok(Math.abs((outsideProbability(located, parse.tokenOutput[1]) as number) - 0.75) < 1e-12);
    // "today": 0.8; the two opening alternatives do not count.
    assert.ok(Math.abs((outsideProbability(located, parse.tokenOutput[3]) as number) - 0.8) < 1e-12);
    // Where the LLM did open a tag, the probability of not doing so is the alternative " Paris".
    assert.ok(Math.abs((outsideProbability(located, 7) as number) - 0.35) < 1e-12);
  });

  it('a whitespace token before the word is a place to open a tag too: the two multiply', () => {
    const out = 'He met Paris';
    const toks = [
      tok('He', 0.9),
      tok(' met', 0.9),
      tok(' ', 0.9, [['<', 0.1]]),
      tok('Paris', 0.8, [['<', 0.2]]),
    ];
    const located = locateTokens(out, toks);
    assert.ok(Math.abs((outsideProbability(located, 7) as number) - 0.9 * 0.8) < 1e-12);
  });

  it('without alternatives it is the written token alone; nothing covers an offset past the answer', () => {
    const located = locateTokens(
      'He met Paris',
      lp([
        ['He', 0.9],
        [' met', 0.9],
        [' Paris', 0.6],
      ]),
    );
    assert.ok(Math.abs((outsideProbability(located, 7) as number) - 0.6) < 1e-12);
    assert.equal(outsideProbability(located, 40), undefined);
  });

  it('a word the answer dropped has no place in it', () => {
    const parse = parseInlineOutput('Yesterday we <LOC>Paris</LOC>', { text: 'Yesterday we met Paris' }, [
      'LOC',
    ]);
    assert.deepEqual(parse.tokenOutput, [0, 10, -1, 18]);
  });
});

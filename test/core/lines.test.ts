import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineRanges, openEachLine, tagLines } from '../../src/core/lines.js';
import { spansFromTags } from '../../src/core/tags.js';
import { tokenize } from '../../src/core/tokenize.js';

describe('a document read line by line', () => {
  const text = 'Seoul -\nIncheon line\r\n\nopens';
  const tokens = tokenize(text);

  it('gives the token ranges of the lines (blank lines give none)', () => {
    assert.deepEqual(
      lineRanges(text, tokens).map(({ start, end }) => tokens.slice(start, end).map((t) => t.text)),
      [['Seoul', '-'], ['Incheon', 'line'], ['opens']],
    );
    assert.deepEqual(lineRanges('', []), []);
  });

  it('tags each line as its own sequence and joins the tags', async () => {
    const calls: string[][] = [];
    const tagged = await tagLines(
      async (words) => {
        calls.push(words);
        return {
          tags: words.map((_, i) => (i === 0 ? 'I-LOC' : 'O')),
          marginals: words.map(() => new Float64Array([1])),
        };
      },
      text,
      tokens,
    );
    assert.deepEqual(calls, [['Seoul', '-'], ['Incheon', 'line'], ['opens']]);
    assert.deepEqual(tagged.tags, ['I-LOC', 'O', 'I-LOC', 'O', 'I-LOC']);
    assert.equal(tagged.marginals.length, tokens.length);
  });

  it('makes the first tag of a line open its entity, so no span crosses a line break', () => {
    const tags = ['B-LOC', 'I-LOC', 'I-LOC', 'O', 'E-ORG', 'M-PER', 'E-PER'];
    const lines = [
      { start: 0, end: 2 },
      { start: 2, end: 4 },
      { start: 4, end: 5 },
      { start: 5, end: 7 },
    ];
    const opened = openEachLine(tags, lines);
    assert.deepEqual(opened, ['B-LOC', 'I-LOC', 'B-LOC', 'O', 'S-ORG', 'B-PER', 'E-PER']);
    assert.deepEqual(spansFromTags(opened), [
      { start: 0, end: 2, type: 'LOC' },
      { start: 2, end: 3, type: 'LOC' },
      { start: 4, end: 5, type: 'ORG' },
      { start: 5, end: 7, type: 'PER' },
    ]);
    assert.deepEqual(tags[2], 'I-LOC', 'the input is not changed');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenize } from '../../src/core/tokenize.js';
import { chunkTokens } from '../../src/fusion/pipeline.js';

describe('chunking long documents for the LLM', () => {
  it('packs whole sentences up to the limit and covers every token once', () => {
    const text = 'One two three. Four five. Six seven eight nine ten eleven twelve thirteen. End.';
    const tokens = tokenize(text);
    const chunks = chunkTokens(text, tokens, 30);
    assert.equal(chunks[0].first, 0);
    assert.equal(chunks[chunks.length - 1].last, tokens.length);
    for (let i = 1; i < chunks.length; i++) assert.equal(chunks[i].first, chunks[i - 1].last);
    const pieces = chunks.map((c) => text.slice(tokens[c.first].start, tokens[c.last - 1].end));
    assert.equal(pieces[0], 'One two three. Four five.');
    for (const p of pieces) assert.ok(p.length <= 30, p);
  });

  it('a short document is one piece; no tokens, no pieces', () => {
    const tokens = tokenize('Short text .');
    assert.deepEqual(chunkTokens('Short text .', tokens, 2000), [{ first: 0, last: tokens.length }]);
    assert.deepEqual(chunkTokens('', [], 10), []);
  });
});

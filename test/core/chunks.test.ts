import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkText } from '../../src/core/chunks.js';

describe('the one chunking policy', () => {
  it('keeps a document that fits whole, and an empty one yields no chunk', () => {
    assert.deepEqual(chunkText('Obama visited Paris. He left.', 100), [
      { start: 0, text: 'Obama visited Paris. He left.' },
    ]);
    assert.deepEqual(chunkText('  \n ', 100), []);
  });

  it('packs whole sentences greedily up to maxChars, offsets exact', () => {
    const sentences = [
      'Obama visited Paris.',
      'He met Macron there.',
      'Then he flew to Berlin.',
      'Merkel waited.',
    ];
    const text = sentences.join(' ');
    const chunks = chunkText(text, 45);
    assert.deepEqual(
      chunks.map((c) => c.text),
      ['Obama visited Paris. He met Macron there.', 'Then he flew to Berlin. Merkel waited.'],
    );
    for (const c of chunks) {
      assert.equal(text.slice(c.start, c.start + c.text.length), c.text);
      assert.ok(c.text.length <= 45);
    }
  });

  it('cuts a sentence longer than maxChars and loses no character', () => {
    const text = `${'word '.repeat(60).trim()}.`;
    const chunks = chunkText(text, 50);
    assert.ok(chunks.length >= 6);
    assert.ok(chunks.every((c) => c.text.length <= 50));
    assert.equal(
      chunks
        .map((c) => c.text)
        .join('')
        .replace(/\s/g, ''),
      text.replace(/\s/g, ''),
    );
  });
});

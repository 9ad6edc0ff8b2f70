import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitSentences } from '../../src/core/sentences.js';

function pieces(text: string, options = {}): string[] {
  return splitSentences(text, options).map((s) => text.slice(s.start, s.end));
}

/** Spans are trimmed, ordered, and together hold every non-space character of the text. */
function assertCovers(text: string, options = {}): void {
  const spans = splitSentences(text, options);
  let prev = 0;
  for (const s of spans) {
    assert.ok(s.start >= prev && s.end > s.start);
    assert.ok(/^\s*$/.test(text.slice(prev, s.start)), 'non-space text between pieces');
    assert.ok(!/^\s/.test(text.slice(s.start, s.end)) && !/\s$/.test(text.slice(s.start, s.end)));
    prev = s.end;
  }
  assert.ok(/^\s*$/.test(text.slice(prev)));
}

test('splits after . ! ? and … followed by space', () => {
  assert.deepEqual(pieces('It rained. Did it? Yes! Then… Sun.'), [
    'It rained.',
    'Did it?',
    'Yes!',
    'Then…',
    'Sun.',
  ]);
});

test('closing quotes and brackets stay with the sentence', () => {
  assert.deepEqual(pieces('He said "Stop." Then (he left.) Done.'), [
    'He said "Stop."',
    'Then (he left.)',
    'Done.',
  ]);
  assert.deepEqual(pieces('She asked “Why?” Nobody knew.'), ['She asked “Why?”', 'Nobody knew.']);
});

test('does not split after abbreviations, initials, dotted abbreviations or inside decimals', () => {
  const text = 'Mr. Smith and Dr. Jones met J. R. Smith of the U.S. Army at 3.14 p.m. in Washington. Next.';
  assert.deepEqual(pieces(text), [
    'Mr. Smith and Dr. Jones met J. R. Smith of the U.S. Army at 3.14 p.m. in Washington.',
    'Next.',
  ]);
  assert.deepEqual(pieces('Use tools, e.g. hammers, i.e. heavy ones. Fine.'), [
    'Use tools, e.g. hammers, i.e. heavy ones.',
    'Fine.',
  ]);
  assert.deepEqual(pieces('Version 2.5 is out. Pi is 3.14159.'), ['Version 2.5 is out.', 'Pi is 3.14159.']);
  assert.deepEqual(pieces('"Really?" she asked.'), ['"Really?" she asked.']);
  assert.deepEqual(pieces('Ask Acme Inc. Lists.', { abbreviations: [] }), ['Ask Acme Inc. Lists.']);
  assert.deepEqual(pieces('We met Prof. X. Then Foo.', { abbreviations: ['foo'] }), [
    'We met Prof. X. Then Foo.',
  ]);
});

test('splits after CJK sentence marks, keeping closing brackets', () => {
  assert.deepEqual(pieces('李开复说：「你好。」他走了！真的？好'), [
    '李开复说：「你好。」',
    '他走了！',
    '真的？',
    '好',
  ]);
  // The shared data's spaced Chinese.
  assert.deepEqual(pieces('他 走 了 。 好'), ['他 走 了 。', '好']);
});

test('splits on blank lines, not on single line breaks', () => {
  assert.deepEqual(pieces('Title without stop\n\nFirst line\nsecond line\n \t\nLast'), [
    'Title without stop',
    'First line\nsecond line',
    'Last',
  ]);
});

test('offsets are exact UTF-16 indices with emoji and surrounding space', () => {
  const text = '  👩‍👩‍👧 Family. 🇯🇵 Japan!  ';
  const spans = splitSentences(text);
  assert.deepEqual(
    spans.map((s) => text.slice(s.start, s.end)),
    ['👩‍👩‍👧 Family.', '🇯🇵 Japan!'],
  );
  assert.equal(spans[0].start, 2);
  assertCovers(text);
});

test('maxChars cuts long pieces at punctuation or whitespace, never above the limit', () => {
  const text = 'alpha beta gamma delta epsilon, zeta eta theta iota kappa lambda mu nu xi omicron pi rho.';
  const spans = splitSentences(text, { maxChars: 32 });
  assert.ok(spans.length > 1);
  for (const s of spans) assert.ok(s.end - s.start <= 32, `${s.end - s.start} > 32`);
  assert.equal(text.slice(spans[0].start, spans[0].end), 'alpha beta gamma delta epsilon,');
  for (const s of spans) {
    const p = text.slice(s.start, s.end);
    assert.ok(/^\S/.test(p) && /\S$/.test(p));
    // Cut at whitespace: no word is split.
    assert.ok(text[s.start - 1] === undefined || /\s/.test(text[s.start - 1]));
  }
  assertCovers(text, { maxChars: 32 });
});

test('maxChars with no space cuts at grapheme boundaries (no broken surrogates or emoji)', () => {
  const text = '👩‍👩‍👧'.repeat(5) + '中文没有空格的句子很长很长很长';
  const spans = splitSentences(text, { maxChars: 12 });
  for (const s of spans) {
    assert.ok(s.end - s.start <= 12);
    const p = text.slice(s.start, s.end);
    assert.ok(
      !/^[\udc00-\udfff\u200d]/.test(p) && !/[\ud800-\udbff\u200d]$/.test(p),
      `broken piece ${JSON.stringify(p)}`,
    );
  }
  assert.equal(spans.map((s) => text.slice(s.start, s.end)).join(''), text);
});

test('empty text has no sentences; bad maxChars is rejected', () => {
  assert.deepEqual(splitSentences(''), []);
  assert.deepEqual(splitSentences(' \n\n '), []);
  assert.throws(() => splitSentences('a', { maxChars: 0 }), RangeError);
});

test('a long document is split quickly with every character kept', () => {
  const text = 'Dr. Smith visited the U.S. on Jan. 5. He said: "It is fine!" Then he left…\n\n'.repeat(3000);
  const t0 = performance.now();
  const spans = splitSentences(text, { maxChars: 200 });
  assert.equal(spans.length, 3000 * 3);
  assertCovers(text);
  assert.ok(performance.now() - t0 < 5000);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlignmentError, alignTokens, graphemeSegments, tokenize } from '../../src/core/tokenize.js';

function texts(s: string): string[] {
  return tokenize(s).map((t) => t.text);
}

/** Every token's offsets slice back to its text, tokens are in order and never overlap. */
function assertExact(s: string): void {
  let prev = 0;
  for (const t of tokenize(s)) {
    assert.equal(s.slice(t.start, t.end), t.text);
    assert.ok(t.start >= prev, `token ${t.text} overlaps the previous one`);
    assert.ok(/^\s*$/.test(s.slice(prev, t.start)), `non-space text skipped before ${t.text}`);
    prev = t.end;
  }
  assert.ok(/^\s*$/.test(s.slice(prev)));
}

test('English: words, numbers and punctuation are separate tokens', () => {
  const s = "Mr. O'Brien paid $3.14 (or 1,000 euros) in the U.S., e.g. Italian-born... Really?!";
  assert.deepEqual(texts(s), [
    'Mr',
    '.',
    "O'Brien",
    'paid',
    '$',
    '3.14',
    '(',
    'or',
    '1,000',
    'euros',
    ')',
    'in',
    'the',
    'U.S.',
    ',',
    'e.g.',
    'Italian-born',
    '...',
    'Really',
    '?',
    '!',
  ]);
  assertExact(s);
});

test('a period between words is punctuation, not a joiner', () => {
  assert.deepEqual(texts('end.Next one,two'), ['end', '.', 'Next', 'one', ',', 'two']);
});

test('CJK: one token per Han, Kana and Hangul character', () => {
  assert.deepEqual(texts('李开复说：「你好」。'), [
    '李',
    '开',
    '复',
    '说',
    '：',
    '「',
    '你',
    '好',
    '」',
    '。',
  ]);
  assert.deepEqual(texts('東京タワーへ行く'), ['東', '京', 'タ', 'ワ', 'ー', 'へ', '行', 'く']);
  assert.deepEqual(texts('서울에 산다'), ['서', '울', '에', '산', '다']);
  assert.deepEqual(texts('iPhone发布了'), ['iPhone', '发', '布', '了']);
  assertExact('李开复说：「你好」。東京タワー 서울');
});

test('emoji: ZWJ sequences, skin tones, flags and keycaps stay whole; offsets are UTF-16', () => {
  const s = 'I ❤️ 👩‍👩‍👧 and 👍🏽 in 🇯🇵 1️⃣ ok';
  const toks = tokenize(s);
  assert.deepEqual(
    toks.map((t) => t.text),
    ['I', '❤️', '👩‍👩‍👧', 'and', '👍🏽', 'in', '🇯🇵', '1️⃣', 'ok'],
  );
  const family = toks[2];
  assert.equal(family.end - family.start, '👩‍👩‍👧'.length);
  assert.equal(toks[8].start, s.indexOf('ok'));
  assertExact(s);
});

test('emoji glued to words are split off without splitting surrogates', () => {
  assert.deepEqual(texts('great😀😀job'), ['great', '😀', '😀', 'job']);
  assertExact('great😀😀job 𝒳y 𠀀字');
  assert.deepEqual(texts('𠀀字'), ['𠀀', '字']); // astral Han
});

test('combining marks stay with their base character', () => {
  const s = 'cafe\u0301 nai\u0308ve \u0915\u094d\u0937 x';
  const toks = tokenize(s);
  assert.deepEqual(
    toks.map((t) => t.text),
    ['cafe\u0301', 'nai\u0308ve', '\u0915\u094d\u0937', 'x'],
  );
  assertExact(s);
  // A mark at the very start does not crash or get lost.
  assertExact('\u0301abc');
});

test('empty and whitespace-only text have no tokens', () => {
  assert.deepEqual(tokenize(''), []);
  assert.deepEqual(tokenize(' \n\t '), []);
});

test('alignTokens finds tokens in order with exact offsets', () => {
  const text = 'EU rejects  German call .';
  const toks = alignTokens(text, ['EU', 'rejects', 'German', 'call', '.']);
  assert.deepEqual(
    toks.map((t) => [t.start, t.end]),
    [
      [0, 2],
      [3, 10],
      [12, 18],
      [19, 23],
      [24, 25],
    ],
  );
  for (const t of toks) assert.equal(text.slice(t.start, t.end), t.text);
  const emoji = alignTokens('a 👩‍👩‍👧 b', ['a', '👩‍👩‍👧', 'b']);
  assert.equal(emoji[2].start, 'a 👩‍👩‍👧 '.length);
});

test('alignTokens rejects missing tokens and non-space gaps unless allowed', () => {
  assert.throws(() => alignTokens('EU rejects', ['EU', 'accepts']), AlignmentError);
  assert.throws(() => alignTokens('EU, rejects', ['EU', 'rejects']), /token 1 "rejects" not found/);
  assert.throws(() => alignTokens('abc', ['']), /empty/);
  const gapped = alignTokens('EU, rejects', ['EU', 'rejects'], { allowGaps: true });
  assert.deepEqual(gapped[1], { text: 'rejects', start: 4, end: 11 });
});

test('tokenize is fast enough for long documents', () => {
  const s = 'The quick brown fox, 3.5 km from the U.S. border, jumps. 李开复 👍🏽\n'.repeat(2000);
  const t0 = performance.now();
  const toks = tokenize(s);
  const ms = performance.now() - t0;
  assert.equal(toks.length, 2000 * 18);
  assert.ok(ms < 5000, `took ${ms} ms`);
});

test('chunked grapheme segmentation of long texts equals one-pass segmentation', () => {
  const piece =
    'a \u0e33 \u0301b 李 字\u{e0100} 한글 \u1100\u1161\u11a8 👩‍👩‍👧 🇯🇵 \u0915\u094d\u0937 \r\n x\u200dy ';
  const s = piece.repeat(150);
  assert.ok(s.length > 4000);
  const direct = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(s)].map((g) => [
    g.index,
    g.segment,
  ]);
  const chunked = [...graphemeSegments(s)].map((g) => [g.index, g.segment]);
  assert.deepEqual(chunked, direct);
});

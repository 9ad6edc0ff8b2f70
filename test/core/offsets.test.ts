import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fromCodePointOffsets,
  hasAstral,
  OffsetError,
  OffsetMap,
  toCodePointOffsets,
} from '../../src/core/offsets.js';

test('code point and UTF-16 offsets agree on BMP text', () => {
  const text = 'Paris is in France. 李开复';
  assert.equal(hasAstral(text), false);
  const spans = [{ start: 0, end: 5, type: 'LOC' }];
  assert.deepEqual(toCodePointOffsets(text, spans), spans);
  assert.deepEqual(fromCodePointOffsets(text, spans), spans);
});

test('astral characters count 2 in UTF-16 and 1 as code points', () => {
  const text = '😀 Paris 👩‍👩‍👧 London';
  const u16 = [
    { start: 3, end: 8, type: 'LOC', text: 'Paris' },
    { start: text.indexOf('London'), end: text.length, type: 'LOC', text: 'London' },
  ];
  const cp = toCodePointOffsets(text, u16);
  assert.deepEqual(
    cp.map((s) => [s.start, s.end]),
    [
      [2, 7],
      [[...text.slice(0, u16[1].start)].length, [...text].length],
    ],
  );
  // Python slicing by code points gives the same strings.
  const chars = [...text];
  for (const s of cp) assert.equal(chars.slice(s.start, s.end).join(''), s.text);
  assert.deepEqual(fromCodePointOffsets(text, cp), u16);
});

test('offsets inside a surrogate pair or out of range are errors', () => {
  const map = new OffsetMap('a😀b');
  assert.equal(map.codePointLength, 3);
  assert.throws(() => map.toCodePoint(2), OffsetError);
  assert.throws(() => map.toCodePoint(5), OffsetError);
  assert.throws(() => map.fromCodePoint(4), OffsetError);
  assert.throws(() => map.fromCodePoint(1.5), OffsetError);
  assert.equal(map.fromCodePoint(2), 3);
  assert.equal(map.convert(3, 'utf16', 'codepoint'), 2);
});

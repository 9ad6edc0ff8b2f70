import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectScheme, spansFromTags, splitTag, TagError, tagsFromSpans } from '../../src/core/tags.js';

test('BIO: spans, I- after O starts a span (IOB2 repair), type change splits', () => {
  assert.deepEqual(spansFromTags(['B-PER', 'I-PER', 'O', 'I-LOC', 'I-ORG', 'B-ORG', 'B-ORG']), [
    { start: 0, end: 2, type: 'PER' },
    { start: 3, end: 4, type: 'LOC' },
    { start: 4, end: 5, type: 'ORG' },
    { start: 5, end: 6, type: 'ORG' },
    { start: 6, end: 7, type: 'ORG' },
  ]);
});

test('IOB1: I continues, B separates adjacent spans of one type', () => {
  const tags = ['I-PER', 'I-PER', 'B-PER', 'O', 'I-LOC'];
  const spans = spansFromTags(tags);
  assert.deepEqual(spans, [
    { start: 0, end: 2, type: 'PER' },
    { start: 2, end: 3, type: 'PER' },
    { start: 4, end: 5, type: 'LOC' },
  ]);
  assert.deepEqual(tagsFromSpans(5, spans, 'IOB1'), tags);
});

test('BIOES and BMES read and write', () => {
  const bmes = ['B-NAME', 'M-NAME', 'E-NAME', 'S-ORG', 'O', 'B-LOC', 'E-LOC'];
  const spans = spansFromTags(bmes);
  assert.deepEqual(spans, [
    { start: 0, end: 3, type: 'NAME' },
    { start: 3, end: 4, type: 'ORG' },
    { start: 5, end: 7, type: 'LOC' },
  ]);
  assert.deepEqual(tagsFromSpans(7, spans, 'BMES'), bmes);
  assert.deepEqual(tagsFromSpans(7, spans, 'BIOES'), [
    'B-NAME',
    'I-NAME',
    'E-NAME',
    'S-ORG',
    'O',
    'B-LOC',
    'E-LOC',
  ]);
  assert.equal(detectScheme(bmes), 'BMES');
  assert.equal(detectScheme(['B-X', 'E-X']), 'BIOES');
  assert.equal(detectScheme(['B-X', 'I-X']), 'BIO');
});

test('E- without an open span of its type is a one-token span; BILOU letters are read', () => {
  assert.deepEqual(spansFromTags(['O', 'E-PER', 'B-LOC', 'E-PER']), [
    { start: 1, end: 2, type: 'PER' },
    { start: 2, end: 3, type: 'LOC' },
    { start: 3, end: 4, type: 'PER' },
  ]);
  assert.deepEqual(spansFromTags(['U-PER', 'B-LOC', 'L-LOC']), [
    { start: 0, end: 1, type: 'PER' },
    { start: 1, end: 3, type: 'LOC' },
  ]);
});

test('unknown prefix is an error with the token index', () => {
  assert.throws(
    () => spansFromTags(['O', 'X-PER']),
    (e: unknown) => e instanceof TagError && e.tokenIndex === 1,
  );
  assert.throws(() => splitTag('PER'), TagError);
  assert.deepEqual(splitTag('B-creative-work'), ['B', 'creative-work']);
});

test('writing overlapping spans is an error', () => {
  assert.throws(
    () =>
      tagsFromSpans(
        3,
        [
          { start: 0, end: 2, type: 'A' },
          { start: 1, end: 3, type: 'B' },
        ],
        'BIO',
      ),
    TagError,
  );
});

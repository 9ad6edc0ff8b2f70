import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findOccurrences, groundMentions } from '../../src/answers/grounding.js';

const texts = (text: string, spans: { start: number; end: number }[]) =>
  spans.map((s) => text.slice(s.start, s.end));

describe('grounding', () => {
  it('finds an exact span and keeps text.slice === span text', () => {
    const text = 'Barack Obama visited Paris.';
    const g = groundMentions(text, [{ text: 'Obama' }, { text: 'Paris' }]);
    assert.deepEqual(g.spans, [
      { start: 7, end: 12, text: 'Obama' },
      { start: 21, end: 26, text: 'Paris' },
    ]);
    assert.equal(g.hallucinated, 0);
  });

  it('resolves repeated substrings by occurrence, by context, else takes as many as listed and counts the ambiguity', () => {
    const text = 'Paris Hilton left Paris for Paris , Texas .';
    const occ = groundMentions(text, [{ text: 'Paris', occurrence: 2 }]);
    assert.deepEqual(
      occ.spans.map((s) => s.start),
      [18],
    );
    assert.equal(occ.ambiguous, 0);

    const ctx = groundMentions(text, [{ text: 'Paris', context: 'Paris , Texas' }]);
    assert.deepEqual(
      ctx.spans.map((s) => s.start),
      [28],
    );

    const once = groundMentions(text, [{ text: 'Paris' }]);
    assert.deepEqual(
      once.spans.map((s) => s.start),
      [0],
    );
    assert.equal(once.ambiguous, 1);

    const twice = groundMentions(text, [{ text: 'Paris' }, { text: 'Paris' }]);
    assert.deepEqual(
      twice.spans.map((s) => s.start),
      [0, 18],
    );
    assert.equal(twice.ambiguous, 1);

    const thrice = groundMentions(text, [
      { text: 'Paris' },
      { text: 'Paris' },
      { text: 'Paris' },
      { text: 'Paris' },
    ]);
    assert.deepEqual(
      thrice.spans.map((s) => s.start),
      [0, 18, 28],
    );
    assert.equal(thrice.ambiguous, 0, 'listing a span at least as often as it occurs is not ambiguous');

    const mixed = groundMentions(text, [{ text: 'Paris', occurrence: 1 }, { text: 'Paris' }]);
    assert.deepEqual(
      mixed.spans.map((s) => s.start),
      [0, 18],
      'a plain mention takes the next free occurrence',
    );
  });

  it('matches different case and spacing, mapping back to the original characters', () => {
    const text = 'He works at the  European   Union in Brussels.';
    const g = groundMentions(text, [{ text: 'european union' }, { text: 'BRUSSELS' }]);
    assert.deepEqual(texts(text, g.spans), ['European   Union', 'Brussels']);
    const quoted = groundMentions(text, [{ text: '"Brussels."' }]);
    assert.deepEqual(texts(text, quoted.spans), ['Brussels']);
    // Tokenized text: "Berlin ." — the stripped span matches exactly before the loose match would swallow the dot.
    assert.deepEqual(findOccurrences('in Berlin .', 'Berlin.'), [[3, 9]]);
  });

  it('grounds CJK text with and without the spaces of the tokenized form', () => {
    const spaced = '我 在 北 京 工 作 ， 北 京 很 大';
    const g = groundMentions(spaced, [{ text: '北京' }, { text: '北京' }]);
    assert.deepEqual(texts(spaced, g.spans), ['北 京', '北 京']);
    assert.deepEqual(
      g.spans.map((s) => s.start),
      [4, 14],
    );
    const plain = '我在北京工作';
    const p = groundMentions(plain, [{ text: '北京' }]);
    assert.deepEqual(p.spans, [{ start: 2, end: 4, text: '北京' }]);
  });

  it('keeps overlapping and nested spans', () => {
    const text = 'the University of California Press';
    const g = groundMentions(text, [
      { text: 'University of California' },
      { text: 'California Press' },
      { text: 'California' },
    ]);
    assert.deepEqual(texts(text, g.spans), ['University of California', 'California', 'California Press']);
  });

  it('drops and counts a span that is not in the text', () => {
    const g = groundMentions('Angela Merkel spoke.', [
      { text: 'Merkel' },
      { text: 'Berlin' },
      { text: '  ' },
    ]);
    assert.deepEqual(texts('Angela Merkel spoke.', g.spans), ['Merkel']);
    assert.equal(g.hallucinated, 1);
    assert.deepEqual(g.dropped, ['Berlin']);
  });

  it('prefers word-boundary occurrences over matches inside a longer word', () => {
    assert.deepEqual(findOccurrences('USAF and US troops', 'US'), [[9, 11]]);
    assert.deepEqual(findOccurrences('USAF only', 'US'), [[0, 2]], 'falls back to a glued match');
  });

  it('never duplicates a span the model listed twice with the same occurrence', () => {
    const g = groundMentions('Rome and Rome', [
      { text: 'Rome', occurrence: 1 },
      { text: 'Rome', occurrence: 1 },
    ]);
    assert.deepEqual(
      g.spans.map((s) => s.start),
      [0],
    );
  });
});

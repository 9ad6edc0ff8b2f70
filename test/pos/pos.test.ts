import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { alignTokens } from '../../src/pos/align.js';
import { cjkSpanPos, compactCjk, isCjkText } from '../../src/pos/cjk.js';
import { spanPos, spanPosFromTokens, spansPos } from '../../src/pos/span-pos.js';
import { loadPosTagger, posTag } from '../../src/pos/tagger.js';
import type { PosToken } from '../../src/pos/upos.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function checkOffsets(text: string, toks: PosToken[]): void {
  let prev = 0;
  for (const t of toks) {
    assert.ok(
      t.start >= prev,
      `token ${t.start}-${t.end} overlaps the previous one in ${JSON.stringify(text)}`,
    );
    assert.ok(t.end > t.start && t.end <= text.length);
    assert.doesNotMatch(text.slice(t.start, t.end), /\s/);
    prev = t.end;
  }
  // Every non-space character is covered by exactly one token.
  const covered = toks.map((t) => text.slice(t.start, t.end)).join('');
  assert.equal(covered, text.replace(/\s+/g, ''), `coverage of ${JSON.stringify(text)}`);
}

describe('posTag (wink, English)', () => {
  it('returns Universal POS tags with offsets into the text', async () => {
    const text = 'EU rejects German call to boycott British lamb .';
    const toks = await posTag(text);
    checkOffsets(text, toks);
    const byWord = Object.fromEntries(toks.map((t) => [text.slice(t.start, t.end), t.pos]));
    assert.equal(byWord.EU, 'PROPN');
    assert.equal(byWord.German, 'PROPN');
    assert.equal(byWord.call, 'NOUN');
    assert.equal(byWord['.'], 'PUNCT');
  });

  it('aligns punctuation, contractions, unicode, emoji and odd spacing', async () => {
    const texts = [
      "I can't believe it's Zürich — naïve café 😀 U.S.A. costs $5.00!!",
      'Peter Blackburn\'s dog won\'t go.  "Really?" she said…',
      '\tTabs\tand   many   spaces ,  and (brackets) [ok] {fine}',
      'Müller-Lüdenscheidt met Łukasz in Kraków on 1996-08-22 at 10:30am.',
      '😀😀 Emoji first, then 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters.',
      "She'll be there, won't she? Y'all gonna come?",
    ];
    for (const text of texts) checkOffsets(text, await posTag(text));
  });

  it('aligns every sentence of a CoNLL sample', async () => {
    const lines = readFileSync(path.resolve(repoRoot, '../shared/data/conll2003/dev.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .slice(0, 300);
    const tagger = await loadPosTagger();
    for (const line of lines) {
      const { text } = JSON.parse(line) as { text: string };
      checkOffsets(text, tagger.tag(text));
    }
  });

  it('returns nothing for blank text', async () => {
    assert.deepEqual(await posTag('   '), []);
  });
});

describe('alignTokens', () => {
  it('finds split contractions inside the surface word', () => {
    const text = "I can't go";
    const offs = alignTokens(text, ['I', 'ca', "n't", 'go']);
    assert.deepEqual(
      offs.map((o) => text.slice(o.start, o.end)),
      ['I', 'ca', "n't", 'go'],
    );
  });

  it('falls back to the next non-space run when a token was normalised', () => {
    const text = 'say “hi” now';
    const offs = alignTokens(text, ['say', '"', 'hi', '"', 'now']);
    assert.deepEqual(
      offs.map((o) => text.slice(o.start, o.end)),
      ['say', '“', 'hi', '”', 'now'],
    );
  });

  it('matches case-insensitively when the tokenizer changed case', () => {
    const text = 'HELLO world';
    const offs = alignTokens(text, ['hello', 'world']);
    assert.deepEqual(offs, [
      { start: 0, end: 5 },
      { start: 6, end: 11 },
    ]);
  });
});

describe('spanPos', () => {
  const text = 'Yesterday the European Union fined him in Brussels .';
  const at = (s: string) => ({ start: text.indexOf(s), end: text.indexOf(s) + s.length });

  it("'first' takes the first word, 'head' the last nominal word", async () => {
    assert.equal(await spanPos(text, at('the European Union'), 'first'), 'DET');
    assert.equal(await spanPos(text, at('the European Union'), 'head'), 'PROPN');
    assert.equal(await spanPos(text, at('Brussels'), 'first'), 'PROPN');
    assert.equal(await spanPos(text, at('him'), 'first'), 'PRON');
  });

  it('spanPosFromTokens returns X for a span that covers no token', () => {
    const toks: PosToken[] = [{ start: 0, end: 3, pos: 'NOUN' }];
    assert.equal(spanPosFromTokens(toks, { start: 5, end: 7 }), 'X');
    assert.equal(spanPosFromTokens(toks, { start: 1, end: 2 }), 'NOUN');
  });

  it('spansPos locates spans given by text only and tags the sentence once', async () => {
    const tagger = await loadPosTagger();
    let calls = 0;
    const tag = (t: string) => {
      calls++;
      return tagger.tag(t);
    };
    const pos = spansPos(
      tag,
      text,
      [{ text: 'Brussels' }, { text: 'him' }, { text: 'the European Union' }],
      'head',
    );
    assert.deepEqual(pos, ['PROPN', 'PRON', 'PROPN']);
    assert.equal(calls, 1);
  });
});

describe('CJK path', () => {
  const text = '我 爱 北 京 天 安 门';
  it('detects CJK and tags one token per character', async () => {
    assert.ok(isCjkText(text));
    assert.ok(!isCjkText('Zürich'));
    const toks = await posTag(text);
    assert.equal(toks.length, 7);
    checkOffsets(text, toks);
    assert.equal(toks[0].pos, 'PRON');
  });

  it('gives pronouns PRON, entities PROPN, other spans NOUN', async () => {
    assert.equal(await spanPos(text, { start: 0, end: 1 }), 'PRON');
    assert.equal(await spanPos(text, { start: 4, end: 7 }), 'NOUN');
    assert.equal(await spanPos(text, { start: 4, end: 7 }, 'first', { entity: true }), 'PROPN');
    assert.equal(cjkSpanPos('他 们'), 'PRON');
    assert.equal(compactCjk('北 京 is in China'), '北京 is in China');
  });
});

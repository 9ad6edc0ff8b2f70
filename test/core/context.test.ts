import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachDocumentContext, documentContexts, MAX_NEIGHBOURS } from '../../src/core/context.js';
import type { NerDocument } from '../../src/core/types.js';
import { contextAttributes } from '../../src/slm/context.js';
import { shortShape } from '../../src/slm/features.js';

const split = (s: string) => s.split(' ');

test('a word is seen in its neighbours at its nearest distances, never in its own sentence', () => {
  const [headline, , , far] = documentContexts(
    [
      split('LADKI WINS IN ALMATY'),
      split('Nadim Ladki won the final .'),
      split('The wins came late for ladki fans .'),
      split('Ladki said he was happy .'),
    ],
    16,
  );
  const ladki = headline.words.ladki;
  assert.equal(ladki.near, 1);
  assert.equal(ladki.title, 1, 'capitalised mid-sentence one sentence away');
  assert.equal(ladki.lower, 2);
  assert.equal(ladki.cap, 1);
  // Nearest first; the sentence start is <s>.
  assert.deepEqual(ladki.prev, [
    ['nadim', 1],
    ['<s>', 3],
  ]);
  assert.deepEqual(ladki.next, [
    ['won', 1],
    ['said', 3],
  ]);
  // "wins" is lower case in sentence 2 only; the headline's own words are not context.
  assert.deepEqual(headline.words.wins, { near: 2, lower: 2 });
  assert.equal(headline.words.almaty, undefined);
  // A headline (all caps) is not evidence of capitalisation.
  assert.equal(far.words.ladki.title, 2);
  assert.equal(far.words.ladki.near, 1);
});

test('the context reaches as far as asked, and keeps at most 8 neighbour words per side', () => {
  const sentences = Array.from({ length: 30 }, (_, i) => split(`w${i} Smith .`));
  const ctx = documentContexts(sentences, 5);
  assert.equal(ctx[0].words.smith.near, 1);
  assert.equal(ctx[0].words.smith.prev?.length, 5, 'five neighbours within reach, one distinct word each');
  assert.equal(ctx[15].words.smith.prev?.length, MAX_NEIGHBOURS);
  assert.deepEqual(
    ctx[15].words.smith.prev?.map(([, d]) => d),
    [1, 1, 2, 2, 3, 3, 4, 4],
  );
  assert.equal(documentContexts([split('Smith'), split('Smith')], 0)[0].words.smith, undefined);
});

test('document attributes come per window, and only for what the window reaches', () => {
  const [ctx] = documentContexts(
    [split('JOHN SMITH'), split('no one'), split('no one'), split('Then John Smith spoke .')],
    16,
  );
  const attrs = (token: string, windows: number[]) => {
    const out: string[] = [];
    contextAttributes(token, shortShape(token), ctx, windows, out);
    return out;
  };
  assert.deepEqual(attrs('SMITH', [2]), []);
  assert.deepEqual(attrs('SMITH', [2, 4]), ['d4=tc', 'd4|ss=tc|X', 'd4p=john', 'd4n=spoke']);
  assert.deepEqual(attrs('no', [4]), []);
  assert.deepEqual(attrs(',', [4]), []);
});

test('attachDocumentContext gives each document its context in the list, and keeps one it has', () => {
  const docs: NerDocument[] = [
    { id: 'a', text: 'PETER WINS', entities: [] },
    { id: 'b', text: 'Then Peter spoke .', entities: [] },
  ];
  const withCtx = attachDocumentContext(docs);
  assert.equal(withCtx[0].context?.words.peter.title, 1);
  assert.equal(docs[0].context, undefined, 'the input is not changed');
  const kept = attachDocumentContext([{ ...docs[1], context: withCtx[0].context }, docs[0]]);
  assert.equal(kept[0].context, withCtx[0].context);
  assert.equal(kept[1].context?.words.peter.title, 1, 'the other gets its context from this list');
});

test('caseless words (CJK characters) have no context and get no document attributes', () => {
  const [first] = documentContexts([split('北 京 Beijing'), split('北 京 Beijing is big')], 16);
  assert.deepEqual(Object.keys(first.words), ['beijing']);
  const out: string[] = [];
  contextAttributes('北', shortShape('北'), first, [4], out);
  assert.equal(out.length, 0);
  contextAttributes('Beijing', shortShape('Beijing'), first, [4], out);
  assert.ok(out.includes('d4=tc'), out.join(' '));
});

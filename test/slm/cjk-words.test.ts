import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cjkWords } from '../../src/slm/cjk-words.js';

test('cjkWords: each character token gets its jieba word, its place in it and the word tag', () => {
  const tokens = [...'高勇：男，中国国籍，现任北京华联集团董事长。'];
  const w = cjkWords(tokens);
  assert.equal(w.length, tokens.length);
  const at = (ch: string) => w[tokens.indexOf(ch)];
  assert.deepEqual(at('中'), { place: 'B', tag: 'ns', word: '中国' });
  assert.deepEqual(at('国'), { place: 'E', tag: 'ns', word: '中国' });
  assert.deepEqual(at('事'), { place: 'M', tag: 'n', word: '董事长' });
  assert.equal(at('男')?.place, 'S');
  // the words spell the sentence back
  let text = '';
  w.forEach((x, i) => {
    if (x?.place === 'B' || x?.place === 'S') text += x.word;
    assert.ok(x, `token ${i} has no word`);
  });
  assert.equal(text, tokens.join(''));
});

test('cjkWords: tokens of several characters (Latin words, numbers) map when they are words of their own', () => {
  const w = cjkWords(['现', '任', 'IBM', '公', '司', 'CEO', '。']);
  assert.deepEqual(w[2], { place: 'S', tag: 'eng', word: 'IBM' });
  assert.deepEqual(w[3], { place: 'B', tag: 'n', word: '公司' });
  assert.deepEqual(cjkWords([]), []);
});

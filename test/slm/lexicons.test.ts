import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_FEATURES, sentenceFeatures } from '../../src/slm/features.js';
import { Lexicon, loadLexicon, parseLexiconText } from '../../src/slm/lexicons.js';

test('the shipped lists know names and places the training data may never show', async () => {
  const lex = await loadLexicon('en-names-places');
  assert.ok(lex.size > 40_000, `${lex.size} entries`);
  const tokens = ['maria', 'flew', 'from', 'jakarta', 'to', 'new', 'york', 'city', 'in', 'june'];
  const m = lex.match(tokens);
  assert.ok(m[0].includes('B-first'));
  assert.ok(m[3].includes('B-city'));
  // the longest match wins: the city "New York City", not the state's name
  assert.deepEqual(
    [m[5], m[6], m[7]].map((x) => x.filter((t) => t.endsWith('city'))),
    [['B-city'], ['I-city'], ['I-city']],
  );
  assert.deepEqual(m[2], [], 'a function word is in no list');
});

test('lexicon attributes: the list with the token shape, and the neighbours lists', async () => {
  const lex = await loadLexicon('en-names-places');
  const f = sentenceFeatures(
    ['flights', 'to', 'Jakarta', 'today'],
    DEFAULT_FEATURES,
    undefined,
    [],
    undefined,
    [lex],
  );
  assert.ok(f[2].includes('lx0=B-city'));
  assert.ok(f[2].includes('lx0|ss=B-city|Xx'));
  assert.ok(f[1].includes('lx0+1=B-city'));
  assert.ok(f[3].includes('lx0-1=B-city'));
  // tweets write place names in lower case: the match is the same, the shape tells them apart
  const lower = sentenceFeatures(['to', 'jakarta'], DEFAULT_FEATURES, undefined, [], undefined, [lex]);
  assert.ok(lower[1].includes('lx0=B-city') && lower[1].includes('lx0|ss=B-city|x'));
  const none = sentenceFeatures(['to', 'Jakarta'], DEFAULT_FEATURES);
  assert.ok(!none.flat().some((a) => a.startsWith('lx')), 'no lexicon, no attributes');
});

test('a malformed lexicon line is reported with its file and line', async () => {
  await assert.rejects(
    () => parseLexiconText('# lists\nparis\tcity\nlondon city\n', 'lists.tsv'),
    /lists\.tsv:3: expected "entry<TAB>list"/,
  );
  const g = await parseLexiconText('# lists\nsan jose\tcity\n', 'lists.tsv');
  assert.deepEqual(g.match(['san', 'jose']), [['B-city'], ['I-city']]);
});

test('a model trained with other lists than the shipped ones is refused', async () => {
  const shipped = (await loadLexicon('en-names-places')).spec;
  assert.equal(await Lexicon.fromSpec(shipped), await loadLexicon('en-names-places'));
  await assert.rejects(
    () => Lexicon.fromSpec({ ...shipped, sha256: 'f'.repeat(64) }),
    /differs .* retrain the model/,
  );
});

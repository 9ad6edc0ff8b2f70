import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entityTokenSpans, goldTags } from '../../src/slm/data.js';
import {
  DEFAULT_FEATURES,
  Gazetteer,
  sentenceFeatures,
  shortShape,
  wordShape,
} from '../../src/slm/features.js';

test('word shapes', () => {
  assert.equal(wordShape('Peter'), 'Xxxxx');
  assert.equal(shortShape('Peter'), 'Xx');
  assert.equal(wordShape('1996-08'), 'dddd-dd');
  assert.equal(shortShape('U.S.'), 'X.X.');
  assert.equal(shortShape('北'), 'C');
});

test('gazetteer matches longest first and marks B/I positions', () => {
  const g = new Gazetteer();
  g.add(['New', 'York'], 'LOC');
  g.add(['New', 'York', 'Times'], 'ORG');
  g.add(['York'], 'LOC');
  const m = g.match(['the', 'New', 'York', 'Times', 'in', 'York']);
  assert.deepEqual(m, [[], ['B-ORG'], ['I-ORG'], ['I-ORG'], [], ['B-LOC']]);
  const back = Gazetteer.fromJSON(g.toJSON());
  assert.deepEqual(back.match(['New', 'York']), [['B-LOC'], ['I-LOC']]);
});

test('sentence features: words, neighbours, caps headline, gazetteer, CJK', () => {
  const g = new Gazetteer();
  g.add(['JAPAN'], 'LOC');
  const f = sentenceFeatures(['SOCCER', '-', 'JAPAN', 'WIN'], DEFAULT_FEATURES, g);
  assert.ok(f[2].includes('w=JAPAN'));
  assert.ok(f[2].includes('lw-1=-'));
  assert.ok(f[2].includes('lw-2=soccer'));
  assert.ok(f[2].includes('lw+2=</s>'));
  assert.ok(f[2].includes('caps-sent'));
  assert.ok(f[2].includes('gz=B-LOC'));
  assert.ok(f[3].includes('gz-1=B-LOC'));
  assert.ok(f[1].includes('punct'));
  const lower = sentenceFeatures(['Japan', 'won', 'it'], DEFAULT_FEATURES);
  assert.ok(!lower[0].includes('caps-sent'));
  assert.ok(lower[0].includes('title') && lower[0].includes('p2=Ja') && lower[0].includes('s3=pan'));
  const zh = sentenceFeatures(['我', '在', '北', '京', '市'], DEFAULT_FEATURES);
  assert.ok(zh[2].includes('cjk'));
  assert.ok(zh[2].includes('cb-2=我在') && zh[2].includes('cb+2=京市') && zh[2].includes('ct=在北京'));
  assert.ok(zh[2].includes('bg-=在|北'));
  // Chinese words (jieba): 北京市 is one place name (ns) that 北 begins, 京 continues and 市 ends
  assert.ok(zh[2].includes('cw=B') && zh[2].includes('cwt=B|ns') && zh[2].includes('cww=北京市'));
  assert.ok(zh[3].includes('cwt=M|ns') && zh[3].includes('cwt-1=B|ns') && zh[3].includes('cwt+1=E|ns'));
  assert.ok(zh[4].includes('cw=E') && zh[4].includes('cwt+1=-'));
  // off, or a sentence without a single-character CJK token: none of them
  assert.ok(
    !sentenceFeatures(['我', '在'], { ...DEFAULT_FEATURES, cjkWords: false })[0].some((a) =>
      a.startsWith('cw'),
    ),
  );
  assert.ok(!lower.flat().some((a) => a.startsWith('cw')));
  // Shape conjunctions; the disjunctive bags only when asked for.
  assert.ok(lower[1].includes('ss3=Xx|x|x') && lower[1].includes('ss|lw-1=x|japan'));
  assert.ok(!lower[1].some((a) => a.startsWith('dl=')));
  const dis = sentenceFeatures(['Japan', 'won', 'it'], { ...DEFAULT_FEATURES, disjunctive: 4 });
  assert.ok(dis[2].includes('dl=japan') && dis[2].includes('dl=won') && dis[0].includes('dr=it'));
});

test('gold tags from entities keep the outermost of nested spans, and from tags convert the scheme', () => {
  const text = 'the Bank of England said';
  const tokens = text.split(' ').map((t, i, a) => {
    const start = a.slice(0, i).reduce((s, x) => s + x.length + 1, 0);
    return { text: t, start, end: start + t.length };
  });
  const entities = [
    { start: 4, end: 19, type: 'ORG', text: 'Bank of England' },
    { start: 12, end: 19, type: 'LOC', text: 'England' },
  ];
  assert.deepEqual(entityTokenSpans(tokens, entities), [{ start: 1, end: 4, type: 'ORG' }]);
  const doc = { id: 'x', text, entities, tokens };
  assert.deepEqual(goldTags(doc, tokens, 'BIOES'), ['O', 'B-ORG', 'I-ORG', 'E-ORG', 'O']);
  const tagged = { ...doc, tags: ['O', 'B-ORG', 'I-ORG', 'I-ORG', 'O'] };
  assert.deepEqual(goldTags(tagged, tokens, 'BMES'), ['O', 'B-ORG', 'M-ORG', 'E-ORG', 'O']);
});

/**
 * CJK: the shared Chinese data spaces its characters ("李 开 复"); the models see the natural,
 * unspaced text (query and demonstrations), and every offset maps back to the spaced text exactly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NerDocument } from '../../src/core/types.js';
import { isCharacterSpaced, modelDocument, modelText } from '../../src/el4ner/model-text.js';
import { pipelineFor } from '../support/method.js';
import { oracleConfig, readGold, schemaName } from '../support/oracle-server.js';
import { type SmallModelServer, startSmallModelServer } from '../support/small-model-server.js';

const SPACED_HAN = /[\p{scx=Han}] [\p{scx=Han}]/u;

describe('the text models see', () => {
  it('drops the spaces of character-spaced CJK and maps offsets both ways', () => {
    const src = '李 开 复 在 北 京 ， 说 NBA 。\n\n你 好';
    assert.ok(isCharacterSpaced(src));
    const mt = modelText(src);
    assert.equal(mt.text, '李开复在北京，说NBA。\n\n你好');
    const bj = { start: src.indexOf('北'), end: src.indexOf('京') + 1 };
    assert.deepEqual(mt.toModel(bj), { start: 4, end: 6, text: '北京' });
    assert.deepEqual(mt.toSource({ start: 4, end: 6 }), { ...bj, text: '北 京' });
    for (const [a, b] of [
      [0, 3],
      [8, 11],
      [14, 16],
    ]) {
      const s = mt.toSource({ start: a, end: b });
      assert.deepEqual(mt.toModel(s), { start: a, end: b, text: mt.text.slice(a, b) });
    }
  });

  it('leaves other text alone: English, unspaced Chinese, Korean', () => {
    for (const t of [
      'Barack Obama visited Paris .',
      '李开复在北京',
      '서울 에서 만났다 .',
      'I met 李开复 in 北京 today .',
    ])
      assert.equal(modelText(t).text, t, t);
  });

  it('moves a pool document to the unspaced text', () => {
    const d: NerDocument = {
      id: 'x',
      text: '我 在 北 京',
      entities: [{ start: 4, end: 7, type: 'GPE.NAM', text: '北 京' }],
    };
    assert.deepEqual(modelDocument(d), {
      id: 'x',
      text: '我在北京',
      entities: [{ start: 2, end: 4, type: 'GPE.NAM', text: '北京' }],
    });
  });
});

describe('Chinese data through the pipeline over HTTP', () => {
  const sets = ['weibo', 'resume'] as const;
  const test = Object.fromEntries(
    sets.map((s) => [s, readGold(s, 'dev', 25).filter((d) => d.entities.length > 0)]),
  );
  const pool = Object.fromEntries(sets.map((s) => [s, readGold(s, 'train', 200)]));
  let server: SmallModelServer;
  before(async () => {
    server = await startSmallModelServer({
      gold: [...test.weibo, ...test.resume],
      rate: 0,
      noise: { miss: 0, spurious: 0, wrongType: 0, falseType: 0, wrongVerdict: 0 },
    });
  });
  after(() => server.close());

  for (const set of sets)
    it(`${set}: unspaced prompts, exact offsets in the spaced text`, async () => {
      const labels = [...new Set(pool[set].flatMap((d) => d.entities.map((e) => e.type)))].sort();
      const n0 = server.requests.length;
      const p = await pipelineFor({
        config: oracleConfig(server.url, ['m'], { labels, retrieval: { k: 3 } }),
        demos: pool[set],
      });
      const r = await p.run(test[set]);
      const report = await p.evaluate(test[set]);
      await p.close();
      const sent = server.requests.slice(n0);
      assert.ok(sent.length > 0);
      for (const q of sent) {
        const user = q.messages.find((m) => m.role === 'user')!.content;
        assert.doesNotMatch(user, SPACED_HAN, `${schemaName(q)} prompt shows spaced characters`);
      }
      // demonstrations are shown (retrieval ran) and unspaced
      assert.ok(sent.some((q) => q.messages[1].content.includes('\n\nExamples:\nExample: ')));
      for (const [i, d] of r.docs.entries()) {
        for (const e of d.entities) assert.equal(d.text.slice(e.start, e.end), e.text);
        assert.equal(d.text, test[set][i].text, 'the output keeps the text as given');
      }
      assert.equal(report.final.micro.f1, 1, JSON.stringify(report.final.micro));
    });
});

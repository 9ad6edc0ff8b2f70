import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CostLedger } from '../../src/engines/cost.js';

const entry = (
  stage: string,
  model: string,
  p: number,
  c: number,
  extra: { cached?: boolean; failed?: boolean } = {},
) => ({
  stage,
  model,
  promptTokens: p,
  completionTokens: c,
  cachedPromptTokens: Math.floor(p / 2),
  ms: 100,
  cached: extra.cached ?? false,
  failed: extra.failed,
});

describe('CostLedger', () => {
  it('totals by stage, by model and overall; cache hits are not spent calls', () => {
    const l = new CostLedger();
    l.record(entry('extract', 'a', 10, 5));
    l.record(entry('extract', 'b', 20, 5));
    l.record(entry('verify', 'a', 4, 1, { failed: true }));
    l.record(entry('verify', 'a', 99, 99, { cached: true }));
    l.recordMiss();
    const s = l.summary();
    assert.deepEqual(s.byStage.extract, {
      calls: 2,
      requests: 2,
      promptTokens: 30,
      completionTokens: 10,
      cachedPromptTokens: 15,
      ms: 200,
      failedCalls: 0,
      unusable: 0,
      refused: 0,
    });
    assert.deepEqual(s.byModel.a, {
      calls: 2,
      requests: 2,
      promptTokens: 14,
      completionTokens: 6,
      cachedPromptTokens: 7,
      ms: 200,
      failedCalls: 1,
      unusable: 0,
      refused: 0,
    });
    assert.equal(s.total.calls, 3);
    assert.equal(s.total.promptTokens, 34);
    assert.deepEqual(s.cache, { hits: 1, misses: 1 });
  });

  it('merges summaries from other workers', () => {
    const a = new CostLedger();
    a.record(entry('extract', 'a', 10, 5));
    const b = new CostLedger();
    b.record(entry('extract', 'a', 1, 1));
    b.record(entry('classify', 'c', 2, 2, { cached: true }));
    a.merge(b.summary());
    const s = a.summary();
    assert.equal(s.byStage.extract.calls, 2);
    assert.equal(s.byModel.a.promptTokens, 11);
    assert.equal(s.total.calls, 2);
    assert.equal(s.cache.hits, 1);
  });

  it('formats a table with every stage, model and the total', () => {
    const l = new CostLedger();
    l.record(entry('extract', 'qwen', 1234, 56));
    const t = l.format();
    assert.match(t, /stage extract\s+1\s+1234\s+56/);
    assert.match(t, /model qwen/);
    assert.match(t, /total/);
    assert.match(t, /response cache: 0 hits, 0 misses/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenize } from '../../src/core/tokenize.js';
import type { Entity } from '../../src/core/types.js';
import type { LlmTokenEntity } from '../../src/fusion/fuse.js';
import {
  evaluateLambda,
  type LambdaDevItem,
  lambdaThresholds,
  searchLambda,
} from '../../src/fusion/lambda.js';

function item(
  text: string,
  slmTags: string[],
  conf: number[],
  llm: Array<[number, number, string, number]>,
  gold: Array<[string, string]>,
  llmOutside?: number[],
): LambdaDevItem {
  const tokens = tokenize(text);
  const entities: Entity[] = gold.map(([t, type]) => {
    const start = text.indexOf(t);
    return { start, end: start + t.length, type, text: t };
  });
  const llmEntities: LlmTokenEntity[] = llm.map(([s, e, type, p]) => ({
    tokenStart: s,
    tokenEnd: e,
    type,
    probability: { category: p },
  }));
  return {
    fusion: { tokens, slmTags, slmConfidence: conf, llm: llmEntities, llmOutside },
    text,
    gold: entities,
  };
}

// A: the SLM misses Paris (S_S 0.3), the LLM finds it (P 0.9): right only when lambda > 0.3/e^0.9.
// B: the SLM is right on Jordan (S_S 0.6), the LLM is wrong (P 0.5): right only when lambda <= 0.6/e^0.5.
// C: both agree.
const dev = [
  item('Paris is nice', ['O', 'O', 'O'], [0.3, 0.9, 0.9], [[0, 1, 'LOC', 0.9]], [['Paris', 'LOC']]),
  item('Jordan scored', ['B-PER', 'O'], [0.6, 0.9], [[0, 1, 'LOC', 0.5]], [['Jordan', 'PER']]),
  item('Smith left', ['B-PER', 'O'], [0.95, 0.9], [[0, 1, 'PER', 0.8]], [['Smith', 'PER']]),
];
const tA = 0.3 / Math.exp(0.9);
const tB = 0.6 / Math.exp(0.5);

describe('lambda search', () => {
  it('finds the thresholds where tokens switch side', () => {
    const ts = lambdaThresholds(dev, 'category');
    assert.equal(ts.length, 2);
    assert.ok(Math.abs(ts[0] - tA) < 1e-12 && Math.abs(ts[1] - tB) < 1e-12);
  });

  it('F1 is a step function: the LLM decides only when lambda is strictly above the threshold', () => {
    assert.ok(Math.abs(evaluateLambda(dev, tA, 'category', 'BIO').f1 - 0.8) < 1e-12);
    assert.equal(evaluateLambda(dev, tA * 1.0001, 'category', 'BIO').f1, 1);
    assert.equal(evaluateLambda(dev, tB, 'category', 'BIO').f1, 1);
    assert.ok(Math.abs(evaluateLambda(dev, tB * 1.0001, 'category', 'BIO').f1 - 2 / 3) < 1e-12);
  });

  it('picks a lambda inside the only range that gets everything right, with the curve', () => {
    const r = searchLambda(dev, { kind: 'category', scheme: 'BIO', guard: false });
    assert.ok(r.lambda > tA && r.lambda <= tB, `lambda ${r.lambda}`);
    assert.equal(r.f1, 1);
    assert.deepEqual(
      r.curve.map((p) => Math.round(p.f1 * 1000) / 1000),
      [0.8, 1, 0.667],
    );
    assert.deepEqual(
      r.curve.map((p) => p.llmTokens),
      [0, 1, 2],
    );
    for (let i = 1; i < r.curve.length; i++) assert.ok(r.curve[i].lambda > r.curve[i - 1].lambda);
  });

  it('the guard keeps the best lambda only when dev resamples clearly prefer it to both ends', () => {
    // Three documents: the gain over the SLM alone (one document) is too thin to trust.
    const small = searchLambda(dev, { kind: 'category', scheme: 'BIO' });
    assert.ok(small.best.lambda > tA && small.best.lambda <= tB);
    assert.ok(small.guard && !small.guard.kept, JSON.stringify(small.guard));
    assert.equal(small.guard.against, 'slm');
    assert.ok(small.guard.winShare > 0.5 && small.guard.winShare < 0.95, `${small.guard.winShare}`);
    assert.equal(small.lambda, small.curve[0].lambda);
    assert.ok(Math.abs(small.f1 - 0.8) < 1e-12);
    // The same pattern over 30 times as many documents: the interior lambda is kept.
    const many = Array.from({ length: 30 }, () => dev).flat();
    const big = searchLambda(many, { kind: 'category', scheme: 'BIO' });
    assert.ok(big.guard?.kept, JSON.stringify(big.guard));
    assert.equal(big.lambda, big.best.lambda);
    assert.equal(big.f1, 1);
  });

  it('a grid evaluates only the given values', () => {
    const r = searchLambda(dev, { kind: 'category', scheme: 'BIO', grid: [1, 0.05, 0.5, 0.2], guard: false });
    assert.equal(r.lambda, 0.2);
    assert.deepEqual(
      r.curve.map((p) => p.lambda),
      [0.05, 0.2, 0.5, 1],
    );
  });

  it('ties go to the smaller lambda; without LLM probabilities any lambda is the SLM alone', () => {
    const noP = dev.map((d) => ({
      ...d,
      fusion: { ...d.fusion, llm: d.fusion.llm?.map((e) => ({ ...e, probability: {} })) },
    }));
    const r = searchLambda(noP, { kind: 'category', scheme: 'BIO' });
    assert.equal(r.curve.length, 1);
    assert.ok(Math.abs(r.f1 - 0.8) < 1e-12);
    const g = searchLambda(noP, { kind: 'category', scheme: 'BIO', grid: [3, 1, 2] });
    assert.equal(g.lambda, 1);
  });

  it('removals of SLM-only entities have their own lambda, chosen in a second stage', () => {
    // A: the LLM finds Paris; right only when lambda > 0.6/e^0.9 = 0.244.
    // B: the SLM is right on Smith, the LLM left it outside (P_out 0.9): removed when lambdaOutside > 0.5/e^0.9 = 0.203.
    // C: the SLM is wrong on Acme, the LLM left it outside (P_out 0.95): removed when lambdaOutside > 0.2/e^0.95 = 0.077.
    // D: the SLM is right on Jordan against the LLM's LOC: kept while lambda <= 0.9/e^0.5 = 0.546.
    const two = [
      item(
        'Paris is nice',
        ['O', 'O', 'O'],
        [0.6, 0.9, 0.9],
        [[0, 1, 'LOC', 0.9]],
        [['Paris', 'LOC']],
        [1, 1, 1],
      ),
      item('Smith left', ['B-PER', 'O'], [0.5, 0.9], [], [['Smith', 'PER']], [0.9, 1]),
      item('Acme rose', ['B-ORG', 'O'], [0.2, 0.9], [], [], [0.95, 1]),
      item('Jordan scored', ['B-PER', 'O'], [0.9, 0.9], [[0, 1, 'LOC', 0.5]], [['Jordan', 'PER']], [1, 1]),
    ];
    const r = searchLambda(two, { kind: 'category', scheme: 'BIO', guard: false });
    assert.equal(r.f1, 1);
    assert.ok(r.lambda > 0.6 / Math.exp(0.9) && r.lambda <= 0.9 / Math.exp(0.5), `lambda ${r.lambda}`);
    assert.ok(
      r.lambdaOutside > 0.2 / Math.exp(0.95) && r.lambdaOutside <= 0.5 / Math.exp(0.9),
      `lambdaOutside ${r.lambdaOutside}`,
    );
    // The first stage removes nothing; the second one tries each removal threshold.
    assert.equal(r.outsideCurve.length, 3);
    // One lambda for both cannot get everything right.
    for (const l of [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 1]) {
      assert.ok(evaluateLambda(two, l, 'category', 'BIO').f1 < 1, `lambda ${l}`);
    }
    assert.equal(evaluateLambda(two, r.lambda, 'category', 'BIO', undefined, r.lambdaOutside).f1, 1);
  });
});

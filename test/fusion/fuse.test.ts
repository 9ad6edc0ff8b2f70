import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alignTokens, tokenize } from '../../src/core/tokenize.js';
import {
  type FusionCase,
  fuseCase,
  type LlmTokenEntity,
  llmScore,
  planFusion,
  slmConfidence,
} from '../../src/fusion/fuse.js';

function fcase(text: string, slmTags: string[], conf: number[], llm?: LlmTokenEntity[]): FusionCase {
  const tokens = tokenize(text);
  assert.equal(tokens.length, slmTags.length);
  return { tokens, slmTags, slmConfidence: conf, llm };
}

const ent = (tokenStart: number, tokenEnd: number, type: string, p: number | undefined): LlmTokenEntity => ({
  tokenStart,
  tokenEnd,
  type,
  probability: { category: p, boundary: p, mean: p },
});

describe('SLM confidence', () => {
  it('is 1 - entropy / ln K', () => {
    assert.equal(slmConfidence(Float64Array.from([0, 1, 0])), 1);
    assert.ok(Math.abs(slmConfidence(Float64Array.from([1 / 3, 1 / 3, 1 / 3]))) < 1e-12);
    const expected = 1 - Math.log(2) / Math.log(3);
    assert.ok(Math.abs(slmConfidence(Float64Array.from([0.5, 0.5, 0])) - expected) < 1e-12);
    assert.equal(slmConfidence(Float64Array.from([1])), 1);
  });

  it('S_L = lambda * e^P', () => {
    assert.ok(Math.abs(llmScore(0.5, 1) - 0.5 * Math.E) < 1e-12);
    assert.equal(llmScore(2, 0), 2);
  });
});

describe('fusion decisions', () => {
  it('a confident SLM token keeps its tag against an unsure LLM', () => {
    // S_S = 0.9; S_L = 0.3 * e^0.2 = 0.366
    const c = fcase('Jordan won', ['B-PER', 'O'], [0.9, 0.95], [ent(0, 1, 'LOC', 0.2)]);
    const r = fuseCase(c, 0.3, 'category', 'BIO');
    assert.deepEqual(r.tags, ['B-PER', 'O']);
    assert.deepEqual(r.counts, { agree: 1, slm: 1, llm: 0 });
  });

  it('an unsure SLM token is overridden by a confident LLM', () => {
    // S_S = 0.2; S_L = 0.3 * e^0.95 = 0.776
    const c = fcase('Jordan won', ['B-PER', 'O'], [0.2, 0.95], [ent(0, 1, 'LOC', 0.95)]);
    const r = fuseCase(c, 0.3, 'category', 'BIO');
    assert.deepEqual(r.tags, ['B-LOC', 'O']);
    assert.deepEqual(r.counts, { agree: 1, slm: 0, llm: 1 });
    assert.deepEqual(r.decidedBy, ['llm', 'agree']);
  });

  it('uses the configured probability kind', () => {
    const e: LlmTokenEntity = {
      tokenStart: 0,
      tokenEnd: 1,
      type: 'LOC',
      probability: { category: 0.1, boundary: 0.9 },
    };
    const c = fcase('Jordan won', ['O', 'O'], [0.5, 0.95], [e]);
    // category: 0.4 * e^0.1 = 0.44 < 0.5 ; boundary: 0.4 * e^0.9 = 0.98 > 0.5 ; mean missing
    assert.deepEqual(fuseCase(c, 0.4, 'category', 'BIO').tags, ['O', 'O']);
    assert.deepEqual(fuseCase(c, 0.4, 'boundary', 'BIO').tags, ['B-LOC', 'O']);
    assert.deepEqual(fuseCase(c, 0.4, 'mean', 'BIO').tags, ['O', 'O']);
  });

  it('without a probability, or where the LLM says O, the SLM stands', () => {
    const c = fcase(
      'Jordan met Smith',
      ['O', 'O', 'B-PER'],
      [0.01, 0.99, 0.01],
      [ent(0, 1, 'LOC', undefined)],
    );
    const r = fuseCase(c, 100, 'category', 'BIO');
    assert.deepEqual(r.tags, ['O', 'O', 'B-PER']);
    assert.deepEqual(r.counts, { agree: 1, slm: 2, llm: 0 });
  });

  it('no LLM answer is the SLM alone', () => {
    const c = fcase('Jordan met Smith', ['B-PER', 'O', 'B-PER'], [0.01, 0.01, 0.01]);
    const r = fuseCase(c, 100, 'category', 'BIO');
    assert.deepEqual(r.tags, ['B-PER', 'O', 'B-PER']);
    assert.deepEqual(r.counts, { agree: 1, slm: 2, llm: 0 });
  });

  it('an LLM entity that wins replaces the SLM span with its own boundaries', () => {
    const c = fcase(
      'New York Times reported',
      ['B-LOC', 'I-LOC', 'O', 'O'],
      [0.1, 0.1, 0.1, 0.9],
      [ent(0, 3, 'ORG', 0.9)],
    );
    const r = fuseCase(c, 0.2, 'category', 'BIO');
    assert.deepEqual(r.tags, ['B-ORG', 'I-ORG', 'I-ORG', 'O']);
    assert.deepEqual(r.counts, { agree: 1, slm: 0, llm: 3 });
    assert.deepEqual(r.decisions.boundary, { slm: 0, llm: 1 });
  });
});

/** A case over whitespace-separated tokens (as the data sets give them, e.g. `Seoul-`). */
function wcase(
  text: string,
  slmTags: string[],
  conf: number[],
  llm?: LlmTokenEntity[],
  llmOutside?: (number | undefined)[],
): FusionCase {
  const tokens = alignTokens(text, text.split(' '));
  assert.equal(tokens.length, slmTags.length);
  return { tokens, slmTags, slmConfidence: conf, llm, llmOutside };
}

const bent = (
  tokenStart: number,
  tokenEnd: number,
  type: string,
  category: number,
  boundary: number,
): LlmTokenEntity => ({ tokenStart, tokenEnd, type, probability: { category, boundary } });

const spansOf = (r: ReturnType<typeof fuseCase>) => r.spans.map((s) => [s.start, s.end, s.type, s.side]);

describe('boundary fusion', () => {
  // The paper's second case study: the SLM tags 王 alone, the LLM 怀王 (same type).
  it('a confident LLM boundary overrides an unsure SLM boundary, decided by the boundary probability', () => {
    // Disputed tokens: 怀 (O against B-PER) and 王 (B-PER against I-PER): S_S = (0.3 + 0.5) / 2 = 0.4.
    // The category probability is low (0.1) and would lose: S_L = 0.3 e^0.1 = 0.33. The boundary
    // probability decides: S_L = 0.3 e^0.95 = 0.78 > 0.4.
    const c = wcase(
      '怀 王 入 秦',
      ['O', 'S-PER', 'O', 'O'],
      [0.3, 0.5, 0.9, 0.9],
      [bent(0, 2, 'PER', 0.1, 0.95)],
    );
    const r = fuseCase(c, 0.3, 'category', 'BMES');
    assert.deepEqual(r.tags, ['B-PER', 'E-PER', 'O', 'O']);
    assert.deepEqual(r.decisions, {
      type: { slm: 0, llm: 0 },
      boundary: { slm: 0, llm: 1 },
      llmOnly: { slm: 0, llm: 0 },
      slmOnly: { slm: 0, llm: 0 },
    });
    assert.deepEqual(r.counts, { agree: 2, slm: 0, llm: 2 });
    // Under token-level fusion 王 would have counted as agreement (PER on both sides): here it is
    // disputed, and a small lambda keeps the SLM's boundary.
    assert.deepEqual(fuseCase(c, 0.1, 'category', 'BMES').tags, ['O', 'S-PER', 'O', 'O']);
  });

  it('the reverse: a confident SLM boundary stands against an unsure LLM boundary', () => {
    // The SLM has 怀王 (S_S 0.95 on both), the LLM only 王 with boundary P 0.6: S_L = 0.3 e^0.6 = 0.55.
    const c = wcase(
      '怀 王 入 秦',
      ['B-PER', 'E-PER', 'O', 'O'],
      [0.95, 0.95, 0.9, 0.9],
      [bent(1, 2, 'PER', 0.99, 0.6)],
    );
    const r = fuseCase(c, 0.3, 'category', 'BMES');
    assert.deepEqual(r.tags, ['B-PER', 'E-PER', 'O', 'O']);
    assert.deepEqual(r.decisions.boundary, { slm: 1, llm: 0 });
    // The threshold is S_S / e^P_bnd = 0.95 / e^0.6: above it the LLM's 王 wins, whole.
    const above = (0.95 / Math.exp(0.6)) * 1.001;
    assert.deepEqual(fuseCase(c, above, 'category', 'BMES').tags, ['O', 'S-PER', 'O', 'O']);
  });

  it('"Seoul- Incheon": two SLM entities against one LLM entity of the same type is one conflict', () => {
    // Token-level fusion kept the SLM's B-LOC on Incheon (same type) and split the LLM's entity.
    const c = wcase(
      'Seoul- Incheon , South Korea',
      ['B-LOC', 'B-LOC', 'O', 'B-LOC', 'I-LOC'],
      [0.8, 0.6, 0.99, 0.9, 0.9],
      [bent(0, 2, 'LOC', 0.9, 0.9), bent(3, 5, 'LOC', 0.9, 0.9)],
    );
    const r = fuseCase(c, 0.5, 'category', 'BIO');
    assert.deepEqual(spansOf(r), [
      [0, 2, 'LOC', 'llm'],
      [3, 5, 'LOC', 'both'],
    ]);
    assert.deepEqual(r.decidedBy, ['agree', 'llm', 'agree', 'agree', 'agree']);
    // Only Incheon is disputed (B-LOC against I-LOC): the threshold is 0.6 / e^0.9.
    const t = 0.6 / Math.exp(0.9);
    assert.deepEqual(spansOf(fuseCase(c, t, 'category', 'BIO')).slice(0, 2), [
      [0, 1, 'LOC', 'slm'],
      [1, 2, 'LOC', 'slm'],
    ]);
  });

  it('"Harry _ Styles" is kept whole or not at all, never cut to "Harry"', () => {
    const c = wcase(
      'RT @ Harry _ Styles :',
      ['O', 'O', 'B-PER', 'O', 'O', 'O'],
      [0.99, 0.99, 0.9, 0.3, 0.7, 0.99],
      [bent(2, 5, 'PER', 0.9, 0.8)],
    );
    // Disputed: _ and Styles, S_S 0.5; threshold 0.5 / e^0.8.
    const t = 0.5 / Math.exp(0.8);
    for (const lambda of [t / 10, t, t * 1.001, t * 10]) {
      const r = fuseCase(c, lambda, 'category', 'BIO');
      const want = lambda > t ? [[2, 5, 'PER', 'llm']] : [[2, 3, 'PER', 'slm']];
      assert.deepEqual(spansOf(r), want, `lambda ${lambda}`);
    }
  });

  it('the winner of a conflict brings all its entities and nothing of the other side', () => {
    // SLM: PER over three tokens. LLM: ORG over the last two, where the SLM is unsure on one token.
    // Token-level mixing gave B-PER I-PER B-ORG (a piece of each); now it is one side or the other.
    const c = fcase(
      'John Smith Corp said',
      ['B-PER', 'I-PER', 'I-PER', 'O'],
      [0.9, 0.9, 0.1, 0.9],
      [ent(1, 3, 'ORG', 0.9)],
    );
    // Disputed: all three (B-PER/O, I-PER/B-ORG, I-PER/I-ORG): S_S = 1.9 / 3.
    const t = 1.9 / 3 / Math.exp(0.9);
    assert.deepEqual(fuseCase(c, t, 'category', 'BIO').tags, ['B-PER', 'I-PER', 'I-PER', 'O']);
    assert.deepEqual(fuseCase(c, t * 1.001, 'category', 'BIO').tags, ['O', 'B-ORG', 'I-ORG', 'O']);
    assert.deepEqual(fuseCase(c, t * 1.001, 'category', 'BIOES').tags, ['O', 'B-ORG', 'E-ORG', 'O']);
    assert.deepEqual(fuseCase(c, t, 'category', 'BIOES').tags, ['B-PER', 'I-PER', 'E-PER', 'O']);
  });

  it('a chain of overlapping entities is one conflict', () => {
    // SLM: [0,2) [2,4); LLM: [1,3): all three linked, decided together.
    const c = fcase(
      'a b c d e',
      ['B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'O'],
      [0.2, 0.2, 0.2, 0.2, 0.9],
      [ent(1, 3, 'PER', 0.9)],
    );
    const plan = planFusion(c, 'category');
    assert.equal(plan.decisions.length, 1);
    assert.equal(plan.decisions[0].kind, 'boundary');
    assert.deepEqual(
      fuseCase(c, 10, 'category', 'BIO').spans.map((s) => [s.start, s.end]),
      [[1, 3]],
    );
  });

  it('an LLM confident that tokens are outside every entity removes an unsure SLM entity', () => {
    // P_out of "Jordan Smith" = 0.99 * 0.98 (the LLM's probability of opening no tag on either token).
    const outside = [0.99, 0.98, 0.99, 0.99];
    const unsure = wcase(
      'Jordan Smith left .',
      ['B-PER', 'I-PER', 'O', 'O'],
      [0.2, 0.4, 0.9, 0.9],
      [],
      outside,
    );
    const r = fuseCase(unsure, 0.3, 'category', 'BIO');
    // S_S = 0.3 < S_L = 0.3 e^(0.99*0.98) = 0.79.
    assert.deepEqual(r.tags, ['O', 'O', 'O', 'O']);
    assert.deepEqual(r.decisions.slmOnly, { slm: 0, llm: 1 });
    assert.deepEqual(planFusion(unsure, 'category').decisions[0].probability, 0.99 * 0.98);
    // A sure SLM entity stays at the same lambda (S_S 0.95 > 0.79).
    const sure = wcase(
      'Jordan Smith left .',
      ['B-PER', 'I-PER', 'O', 'O'],
      [0.95, 0.95, 0.9, 0.9],
      [],
      outside,
    );
    assert.deepEqual(fuseCase(sure, 0.3, 'category', 'BIO').tags, ['B-PER', 'I-PER', 'O', 'O']);
    // Without the LLM's outside probabilities (no logprobs) it stays whatever lambda is.
    const blind = wcase('Jordan Smith left .', ['B-PER', 'I-PER', 'O', 'O'], [0.01, 0.01, 0.9, 0.9], []);
    assert.deepEqual(fuseCase(blind, 1e6, 'category', 'BIO').tags, ['B-PER', 'I-PER', 'O', 'O']);
    // One token the answer does not cover is enough to keep it.
    const partial = wcase(
      'Jordan Smith left .',
      ['B-PER', 'I-PER', 'O', 'O'],
      [0.01, 0.01, 0.9, 0.9],
      [],
      [0.99, undefined, 0.99, 0.99],
    );
    assert.deepEqual(fuseCase(partial, 1e6, 'category', 'BIO').tags, ['B-PER', 'I-PER', 'O', 'O']);
  });

  it('counts type decisions apart from boundary decisions', () => {
    const c = wcase(
      'Jordan met Paris Hilton in New York',
      ['B-PER', 'O', 'B-LOC', 'O', 'O', 'B-LOC', 'I-LOC'],
      [0.3, 0.9, 0.3, 0.4, 0.9, 0.9, 0.9],
      [bent(0, 1, 'LOC', 0.9, 0.9), bent(2, 4, 'PER', 0.9, 0.9), bent(5, 7, 'LOC', 0.9, 0.9)],
    );
    const r = fuseCase(c, 0.5, 'category', 'BIO');
    assert.deepEqual(spansOf(r), [
      [0, 1, 'LOC', 'llm'],
      [2, 4, 'PER', 'llm'],
      [5, 7, 'LOC', 'both'],
    ]);
    assert.deepEqual(r.decisions, {
      type: { slm: 0, llm: 1 },
      boundary: { slm: 0, llm: 1 },
      llmOnly: { slm: 0, llm: 0 },
      slmOnly: { slm: 0, llm: 0 },
    });
  });
});

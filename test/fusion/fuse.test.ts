import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenize } from '../../src/core/tokenize.js';
import {
  type FusionCase,
  fuseCase,
  type LlmTokenEntity,
  llmScore,
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

describe('token-level fusion', () => {
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

  it('repairs mixed decisions into valid spans (BIO)', () => {
    // LLM: ORG over tokens 1-2; it wins token 2 only (token 1's SLM is sure).
    // Mixed: B-PER I-PER I-ORG -> PER[0,2) ORG[2,3)
    const c = fcase(
      'John Smith Corp said',
      ['B-PER', 'I-PER', 'I-PER', 'O'],
      [0.9, 0.9, 0.1, 0.9],
      [ent(1, 3, 'ORG', 0.9)],
    );
    const r = fuseCase(c, 0.2, 'category', 'BIO');
    assert.deepEqual(r.tags, ['B-PER', 'I-PER', 'B-ORG', 'O']);
    assert.deepEqual(
      r.spans.map((s) => [s.start, s.end, s.type]),
      [
        [0, 2, 'PER'],
        [2, 3, 'ORG'],
      ],
    );
  });

  it('writes the SLM scheme (BIOES and BMES) after repair', () => {
    const c = fcase(
      'John Smith Corp said',
      ['B-PER', 'I-PER', 'E-PER', 'O'],
      [0.9, 0.9, 0.1, 0.9],
      [ent(1, 3, 'ORG', 0.9)],
    );
    assert.deepEqual(fuseCase(c, 0.2, 'category', 'BIOES').tags, ['B-PER', 'E-PER', 'S-ORG', 'O']);
    // An LLM entity extending an SLM one: B-LOC E-LOC from the SLM, the LLM adds the third token,
    // which continues the span (the SLM's tags are read as BIO before mixing).
    const d = fcase(
      '北 京 市 大',
      ['B-LOC', 'E-LOC', 'O', 'O'],
      [0.9, 0.9, 0.1, 0.9],
      [ent(0, 3, 'LOC', 0.9)],
    );
    const r = fuseCase(d, 0.2, 'category', 'BMES');
    assert.deepEqual(r.tags, ['B-LOC', 'M-LOC', 'E-LOC', 'O']);
    assert.deepEqual(r.counts, { agree: 3, slm: 0, llm: 1 });
  });

  it('an LLM entity that wins every token replaces the SLM span with its own boundaries', () => {
    const c = fcase(
      'New York Times reported',
      ['B-LOC', 'I-LOC', 'O', 'O'],
      [0.1, 0.1, 0.1, 0.9],
      [ent(0, 3, 'ORG', 0.9)],
    );
    const r = fuseCase(c, 0.2, 'category', 'BIO');
    assert.deepEqual(r.tags, ['B-ORG', 'I-ORG', 'I-ORG', 'O']);
    assert.deepEqual(r.counts, { agree: 1, slm: 0, llm: 3 });
  });
});

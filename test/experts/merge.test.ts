/**
 * Merging selected experts: LoRA experts on one llama-cpp base become one model entry with all
 * their adapters, scaled by normalised selection scores; the merged config is loaded for real by
 * node-llama-cpp (tiny random GGUF + two tiny adapters) and answers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { LlamaCppEngine } from '../../src/engines/llama-cpp/engine.js';
import { applyMerge, loraScales, planMerge } from '../../src/experts/merge.js';
import { configWithExperts, resolveExperts } from '../../src/experts/registry.js';
import { writeTinyLora } from '../fixtures/lora/write-tiny-lora.js';
import { repoRoot } from './helpers.js';

const MODEL = path.resolve(repoRoot, '../shared/fixtures/models/tiny-random-llama.gguf');

describe('merging experts', () => {
  let tmp: string;
  let a: string;
  let b: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'el4ner-merge-'));
    a = path.join(tmp, 'news-lora.gguf');
    b = path.join(tmp, 'bio-lora.gguf');
    writeTinyLora(a, { seed: 1 });
    writeTinyLora(b, { seed: 2 });
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const config = () =>
    parseConfig({
      models: [
        { name: 'tiny', engine: 'llama-cpp', path: MODEL, parallel: 1, contextSize: 512, threads: 2 },
        { name: 'remote', engine: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: 'm' },
      ],
      labels: ['PER', 'LOC'],
      experts: [
        { name: 'news', model: 'tiny', lora: [{ path: a }] },
        { name: 'bio', model: 'tiny', lora: [{ path: b, scale: 2 }] },
        { name: 'general', model: 'remote' },
      ],
    });

  it('LoRA experts vote under their own names, each a derived llama-cpp model', () => {
    const c = config();
    const experts = resolveExperts(c);
    assert.deepEqual(
      experts.map((e) => e.voter),
      ['news', 'bio', 'remote'],
    );
    const withExperts = configWithExperts(c, experts);
    const news = withExperts.models.find((m) => m.name === 'news');
    assert.equal(news?.engine, 'llama-cpp');
    assert.deepEqual(news?.engine === 'llama-cpp' ? news.lora : undefined, [{ path: a, scale: 1 }]);
  });

  it('adapters on a non-llama-cpp model are a config error', () => {
    const c = parseConfig({
      models: [{ name: 'remote', engine: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: 'm' }],
      experts: [{ name: 'x', model: 'remote', lora: [{ path: 'x.gguf' }] }],
      labels: ['PER'],
    });
    assert.throws(() => resolveExperts(c), ConfigError);
  });

  it('builds the merged config: one model with both adapters scaled by normalised scores', () => {
    const c = config();
    const [news, bio, general] = resolveExperts(c);
    const plan = planMerge(c, [
      { expert: news, score: 0.6, weights: { PER: 0.9, '*': 0.8 } },
      { expert: bio, score: 0.2, weights: { PER: 0.5, '*': 0.4 } },
      { expert: general, score: 0.5, weights: { PER: 0.7, '*': 0.6 } },
    ]);
    assert.equal(plan.models.length, 1);
    assert.equal(plan.models[0].name, 'tiny.experts');
    // news: 1 x 0.6/0.8 = 0.75; bio: 2 x 0.2/0.8 = 0.5
    assert.deepEqual(plan.models[0].lora, [
      { path: a, scale: 0.75 },
      { path: b, scale: 0.5 },
    ]);
    assert.deepEqual(plan.backbones, ['remote', 'tiny.experts']);
    assert.equal(plan.classification, 'weighted-vote');
    // the merged voter's weights: score-weighted mean of its experts' weights
    assert.deepEqual(plan.voteWeights?.['tiny.experts'], { '*': 0.7, PER: 0.8 });
    const merged = applyMerge(c, plan);
    assert.deepEqual(merged.backbones, ['remote', 'tiny.experts']);
    assert.equal(merged.stages.classification, 'weighted-vote');
    // the result is a valid config
    parseConfig(merged);
    // all-zero scores share equally
    assert.deepEqual(
      loraScales([
        { expert: news, score: 0 },
        { expert: bio, score: 0 },
      ]).map((l) => l.scale),
      [0.5, 1],
    );
  });

  it('node-llama-cpp loads the tiny model with both adapters at their scales and answers', async () => {
    const c = config();
    const [news, bio] = resolveExperts(c);
    const plan = planMerge(c, [
      { expert: news, score: 0.75 },
      { expert: bio, score: 0.25 },
    ]);
    const m = plan.models[0];
    const ask = async (lora: Array<{ path: string; scale: number }> | undefined) => {
      const e = new LlamaCppEngine({
        name: m.name,
        path: m.path,
        parallel: 1,
        contextSize: 512,
        threads: 2,
        gpu: false,
        build: 'never',
        ...(lora ? { lora } : {}),
      });
      try {
        const r = await e.chat({
          messages: [{ role: 'user', content: 'Sentence: Mia met Ned.' }],
          maxTokens: 4,
          logprobs: true,
          topLogprobs: 5,
        });
        return { identity: e.identity, text: r.text, top: r.logprobs?.[0]?.top ?? [] };
      } finally {
        await e.close();
      }
    };
    const merged = await ask(m.lora);
    const base = await ask(undefined);
    assert.ok(merged.text.length > 0);
    assert.equal(merged.top.length, 5);
    assert.match(merged.identity, new RegExp(`${path.basename(a)}@0\\.75,.*${path.basename(b)}@0\\.5`));
    const differs = merged.top.some(
      (t, i) => t.token !== base.top[i]?.token || Math.abs(t.logprob - base.top[i].logprob) > 1e-3,
    );
    assert.ok(differs, 'the merged adapters change the logits');
  });
});

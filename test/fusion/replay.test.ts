import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OpenAIEngine } from '../../src/engines/openai.js';
import { createFusion, fusionEval } from '../../src/fusion/pipeline.js';
import { readJsonlDocuments } from '../../src/slm/data.js';
import { CrfTagger } from '../../src/slm/tagger.js';
import { replayInlineAnswer, startReplayServer } from '../support/replay-server.js';
import {
  ensureSystems,
  predictionEntities,
  type ReplaySystem,
  type SystemSpec,
  sharedData,
} from '../support/replay-systems.js';
import type { ScriptedServer } from '../support/scripted-server.js';
import { fastRetry, modelConfig } from './helpers.js';

// Two real CRFs, small enough for a test: different features, different halves of 400 sentences.
const SPECS: SystemSpec[] = [
  {
    name: 'crf-a',
    description: 'default features, even half',
    subset: { every: 2, offset: 0 },
    maxIterations: 30,
  },
  {
    name: 'crf-b',
    description: 'window 1, no gazetteer, odd half',
    subset: { every: 2, offset: 1 },
    features: { window: 1, gazetteer: false },
    c2: 0.2,
    maxIterations: 30,
  },
];

describe('replayed real taggers as the inline-tagging LLM', () => {
  let cacheDir: string;
  let systems: ReplaySystem[];
  let srv: ScriptedServer;
  let slm: CrfTagger;
  const data = { train: [], dev: [], test: [] } as Record<
    'train' | 'dev' | 'test',
    Awaited<ReturnType<typeof readJsonlDocuments>>
  >;

  before(async () => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'el4ner-replay-'));
    data.train = (await readJsonlDocuments(path.join(sharedData, 'conll2003', 'train.jsonl'))).slice(0, 400);
    data.dev = (await readJsonlDocuments(path.join(sharedData, 'conll2003', 'dev.jsonl'))).slice(0, 80);
    data.test = (await readJsonlDocuments(path.join(sharedData, 'conll2003', 'test.jsonl'))).slice(0, 80);
    systems = await ensureSystems('conll2003', SPECS, { cacheDir, data });
    slm = await CrfTagger.load(systems[0].modelFile);
    srv = await startReplayServer(systems);
  });
  after(async () => {
    await srv?.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('the cache gives the same systems back without training', async () => {
    const lines: string[] = [];
    const again = await ensureSystems('conll2003', SPECS, { cacheDir, data, log: (l) => lines.push(l) });
    assert.equal(lines.filter((l) => /from the cache/.test(l)).length, 2, lines.join('\n'));
    assert.deepEqual(again[1].predictions.test, systems[1].predictions.test);
    // A changed spec is trained again.
    const changed = [{ ...SPECS[1], c2: 0.3 }];
    const lines2: string[] = [];
    await ensureSystems('conll2003', changed, { cacheDir, data, log: (l) => lines2.push(l) });
    assert.ok(
      lines2.some((l) => /training on 200 sentences/.test(l)),
      lines2.join('\n'),
    );
    await ensureSystems('conll2003', SPECS, { cacheDir, data });
  });

  it('the two systems are different taggers', () => {
    const [a, b] = systems;
    let differ = 0;
    for (let i = 0; i < a.predictions.test.length; i++) {
      if (a.predictions.test[i].tags.join() !== b.predictions.test[i].tags.join()) differ++;
    }
    assert.ok(differ >= 10, `${differ} of 80 sentences tagged differently`);
  });

  it('the answer parses back to exactly the system, and its logprobs are the system marginals', async () => {
    const b = systems[1];
    const llm = new OpenAIEngine(modelConfig(srv.url, { model: 'crf-b', maxTokens: 2048 }), fastRetry);
    const fusion = createFusion({ slm, llm, lambda: 1 });
    const labels = b.labels;
    const beginOf = (m: number[]) => labels.reduce((s, l, i) => (l.startsWith('B-') ? s + m[i] : s), 0);
    let checkedEntity = false;
    let checkedOutside = false;
    for (const [k, pred] of b.predictions.test.entries()) {
      const a = await fusion.analyse(data.test[k]);
      assert.deepEqual(
        (a.llmEntities ?? []).map((e) => [e.start, e.end, e.type]),
        predictionEntities(pred).map((e) => [e.start, e.end, e.type]),
        pred.text,
      );
      assert.equal(a.logprobs, true);
      for (const e of a.llmEntities ?? []) {
        // Category probability: m(B-X) / sum over types of m(B-Y) at the entity's first token.
        const m = pred.marginals[e.tokenStart];
        const want = m[labels.indexOf(`B-${e.type}`)] / beginOf(m);
        assert.ok(Math.abs((e.score as number) - want) < 1e-9, `${e.text}: ${e.score} against ${want}`);
        checkedEntity = true;
      }
      const inside = new Set<number>();
      for (const e of a.llmEntities ?? []) for (let t = e.tokenStart; t < e.tokenEnd; t++) inside.add(t);
      for (let t = 0; t < pred.tokens.length; t++) {
        if (inside.has(t)) continue;
        // Not opening a tag at an outside token: 1 - the summed begin marginals there.
        const want = 1 - beginOf(pred.marginals[t]);
        const got = a.fusion.llmOutside?.[t] as number;
        assert.ok(Math.abs(got - Math.max(want, 1e-6)) < 1e-9, `${pred.tokens[t]}: ${got} against ${want}`);
        checkedOutside = true;
      }
    }
    assert.ok(checkedEntity && checkedOutside);
  });

  it('through fusionEval: SLM and LLM alone are the systems; a tiny lambda is the SLM, a huge one the LLM', async () => {
    const [a, b] = systems;
    const llm = new OpenAIEngine(modelConfig(srv.url, { model: 'crf-b', maxTokens: 2048 }), fastRetry);
    const counts = (s: { tp: number; fp: number; fn: number }) => [s.tp, s.fp, s.fn];
    const tiny = await fusionEval(data.test, createFusion({ slm, llm, lambda: 1e-9 }));
    assert.deepEqual(counts(tiny.slm.strict), counts(a.scores.test));
    assert.ok(tiny.llm);
    assert.deepEqual(counts(tiny.llm.strict), counts(b.scores.test), 'nothing lost on the wire');
    assert.deepEqual(counts(tiny.fused.strict), counts(a.scores.test));
    const huge = await fusionEval(data.test, createFusion({ slm, llm, lambda: 1e9 }));
    // Every conflict goes to the LLM, including removing the SLM entities it left outside.
    assert.deepEqual(counts(huge.fused.strict), counts(b.scores.test));
    assert.ok(
      huge.decisions.slmOnly.llm > 0 && huge.decisions.slmOnly.slm === 0,
      JSON.stringify(huge.decisions),
    );
    assert.ok(huge.decisions.boundary.llm + huge.decisions.type.llm > 0, JSON.stringify(huge.decisions));
    assert.equal(huge.fallbacks['llm-error'], 0);
    // Lambda chosen on dev: at least as good as either side there (both ends are candidates).
    const tuned = await fusionEval(data.test, createFusion({ slm, llm, lambda: 'auto' }), { dev: data.dev });
    assert.ok(tuned.lambdaSearch);
    assert.ok(tuned.lambdaSearch.f1 >= Math.max(a.scores.dev.f1, b.scores.dev.f1) - 1e-12);
  });

  it('an unknown sentence or model is an HTTP error, not an invented answer', async () => {
    const llm = new OpenAIEngine(modelConfig(srv.url, { model: 'crf-b', maxAttempts: 1 }), fastRetry);
    await assert.rejects(
      llm.chat({ messages: [{ role: 'user', content: 'never tagged' }] }),
      /never tagged this text/,
    );
    const other = new OpenAIEngine(modelConfig(srv.url, { model: 'nope', maxAttempts: 1 }), fastRetry);
    await assert.rejects(other.chat({ messages: [{ role: 'user', content: 'x' }] }), /does not exist/);
  });

  it('writes a long word in pieces and keeps the probabilities on the first piece', () => {
    const pred = {
      id: 'x',
      text: 'Schwarzenegger won',
      tokens: ['Schwarzenegger', 'won'],
      tags: ['B-PER', 'O'],
      marginals: [
        [0.1, 0.7, 0.2, 0, 0],
        [0.9, 0.05, 0, 0.05, 0],
      ],
    };
    const a = replayInlineAnswer(pred, ['O', 'B-PER', 'B-LOC', 'I-PER', 'I-LOC']);
    assert.equal(a.content, '<PER>Schwarzenegger</PER> won');
    assert.deepEqual(
      a.logprobs.map((t) => t.token),
      ['<', 'PER', '>', 'Schwar', 'zenegg', 'er', '</', 'PER', '>', ' won'],
    );
    const p = (i: number) => Math.exp(a.logprobs[i].logprob);
    assert.ok(Math.abs(p(0) - 0.9) < 1e-12, 'open: B-PER + B-LOC');
    assert.ok(Math.abs(p(1) - 0.7 / 0.9) < 1e-12, 'type given open');
    assert.ok(Math.abs(p(6) - 0.95) < 1e-12, 'close: 1 - m(I-PER) of the next word');
    assert.ok(Math.abs(p(9) - 0.95) < 1e-12, 'won: not opening (1 - 0.05)');
    assert.deepEqual(
      a.logprobs[9].top?.map((t) => t.token),
      [' won', ' <'],
    );
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OpenAIEngine } from '../../src/engines/openai.js';
import { markInline } from '../../src/fusion/inline-tagging.js';
import { createFusion, fusionEval } from '../../src/fusion/pipeline.js';
import { type CrfTagger, trainCrf } from '../../src/slm/tagger.js';
import { type ScriptedServer, startScriptedServer } from '../support/scripted-server.js';
import { fastRetry, modelConfig, sharedDocs } from './helpers.js';

// The real CRF (trained on a little CoNLL-2003) fused with a scripted LLM that echoes the gold
// entities inline; every token gets logprob -0.01 (P ~ 0.99).
describe('fusion with the real CRF on CoNLL-2003 sentences', () => {
  let srv: ScriptedServer;
  let crf: CrfTagger;
  let mangle = (s: string) => s;
  const dev = sharedDocs('conll2003', 'dev', 60);
  const byText = new Map(dev.map((d) => [d.text, d]));
  before(async () => {
    crf = await trainCrf(sharedDocs('conll2003', 'train', 200), { maxIterations: 40 });
    srv = await startScriptedServer({
      chat: (req) => {
        const text = req.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
        const d = byText.get(text);
        if (!d) return { status: 400, errorBody: { error: { message: 'unknown sentence' } } };
        return { content: mangle(markInline(d.text, d.entities)), logprobs: 'auto' };
      },
    });
  });
  after(async () => {
    await srv.close();
  });

  it('LLM alone scores 1 through the parser; fusion beats the SLM; a tiny lambda is the SLM', async () => {
    const llm = new OpenAIEngine(modelConfig(srv.url, { maxTokens: 512 }), fastRetry);
    const report = await fusionEval(dev, createFusion({ slm: crf, llm, lambda: 1 }));
    assert.ok(report.llm);
    assert.equal(report.llm.strict.f1, 1);
    assert.equal(report.withoutLogprobs, 0);
    assert.ok(report.slm.strict.f1 < 1, 'a CRF trained on 200 sentences is not perfect');
    assert.ok(report.decided.llm > 0);
    assert.ok(report.fused.strict.f1 > report.slm.strict.f1, JSON.stringify(report.fused.strict));
    const tiny = await fusionEval(dev, createFusion({ slm: crf, llm, lambda: 1e-9 }));
    assert.equal(tiny.decided.llm, 0);
    assert.equal(tiny.fused.strict.f1, tiny.slm.strict.f1);
  });

  it('the parser survives a lower-cased answer with spaces before punctuation removed', async () => {
    mangle = (s) => s.toLowerCase().replace(/ ([.,:;)])/g, '$1');
    try {
      const llm = new OpenAIEngine(modelConfig(srv.url, { maxTokens: 512 }), fastRetry);
      const report = await fusionEval(dev, createFusion({ slm: crf, llm, lambda: 1 }));
      assert.ok(report.llm);
      assert.equal(report.llm.strict.f1, 1);
    } finally {
      mangle = (s) => s;
    }
  });
});

// The tiny random GGUF through node-llama-cpp: nonsense words, but real logprobs plumbing.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { LlamaCppEngine } from '../../src/engines/llama-cpp/engine.js';
import { runInlineTagging } from '../../src/fusion/inline-tagging.js';
import { createFusion } from '../../src/fusion/pipeline.js';
import { repoRoot, tableSlm } from './helpers.js';

const MODEL = path.resolve(repoRoot, '../shared/fixtures/models/tiny-random-llama.gguf');

describe('fusion with an embedded GGUF model', () => {
  const llm = new LlamaCppEngine({
    name: 'tiny',
    path: MODEL,
    gpu: false,
    build: 'never',
    threads: 2,
    contextSize: 1024,
  });
  after(async () => {
    await llm.close();
  });

  it('gets an answer with logprobs; nonsense is a failed answer and the SLM answer stands', async () => {
    const text = 'Obama visited Paris .';
    const { response } = await runInlineTagging(llm, { id: 'x', text, entities: [] }, { types: ['PER'] });
    assert.ok(response.logprobs && response.logprobs.length > 0);
    const fusion = createFusion({ slm: tableSlm({ Obama: ['B-PER', 0.6] }), llm, lambda: 1 });
    const { doc, stats } = await fusion.tagDocument({ id: 'x', text, entities: [] });
    // The random model does not rewrite the sentence, so its answer cannot touch the SLM's.
    assert.equal(stats.fallback, 'llm-error');
    assert.match(stats.error ?? '', /does not rewrite the text/);
    assert.equal(stats.decided.llm, 0);
    assert.deepEqual(
      doc.entities.map((e) => [e.type, e.text]),
      [['PER', 'Obama']],
    );
  });
});

/**
 * Soft votes from the embedded engine: node-llama-cpp on the tiny GGUF (built by the assembly code
 * the CLI uses) writes a type under a JSON-schema grammar with token logprobs, and the reader of
 * soft votes turns them into a probability for every label and `none`. The model's weights are
 * random, so only the mechanics are checked, not the types.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { choiceDistributionsById, locateTokens } from '../../src/answers/token-logprobs.js';
import { type AssembledEngines, assembleEngines } from '../../src/assemble/engines.js';
import { parseConfig } from '../../src/config/load.js';
import { strictObject } from '../../src/el4ner/prompts.js';
import { repoRoot } from './helpers.js';

const MODEL = path.resolve(repoRoot, '../shared/fixtures/models/tiny-random-llama.gguf');
const labels = ['LOC', 'MISC', 'ORG', 'PER'];

describe('soft votes on the embedded engine (tiny GGUF)', () => {
  let engines: AssembledEngines;
  before(async () => {
    const config = parseConfig({
      models: [
        { name: 'tiny', engine: 'llama-cpp', path: MODEL, parallel: 1, contextSize: 4096, threads: 2 },
      ],
      cache: { enabled: false },
      labels,
    });
    engines = await assembleEngines(config, { noCache: true, log: () => {} });
  });
  after(async () => {
    await engines?.close();
  });

  it('a type written under a grammar comes with a distribution over the labels and none, from the real tokens', async () => {
    // The classification answer's items, one at a time: the grammar makes the model write one, so
    // the random weights cannot leave the list empty. The labels are split by the model's own
    // tokenizer, quotes and all, as a real model's would be.
    const choices = [...labels, 'none'];
    const schema = strictObject({
      id: { type: 'integer', enum: [1] },
      type: { type: 'string', enum: choices },
    });
    for (const sentence of ['Peter Blackburn visited Brussels .', 'The European Commission said .']) {
      const r = await engines.engines.get('tiny')!.chat({
        messages: [{ role: 'user', content: `Type the span "${sentence.split(' ')[0]}" of: ${sentence}` }],
        jsonSchema: { name: 'types', schema },
        logprobs: true,
        topLogprobs: choices.length,
        temperature: 0,
        maxTokens: 40,
      });
      assert.ok(r.logprobs && r.logprobs.length > 0, 'no logprobs');
      const written = (JSON.parse(r.text) as { type: string }).type;
      const dist = choiceDistributionsById(r.text, locateTokens(r.text, r.logprobs), 'type', choices).get(
        1,
      )?.probs;
      assert.ok(dist, `no distribution read from ${JSON.stringify(r.logprobs.map((t) => t.token))}`);
      const total = Object.values(dist).reduce((a, p) => a + p, 0);
      assert.ok(Math.abs(total - 1) < 1e-9, `probabilities add up to ${total}`);
      assert.ok(dist[written] > 0, `the written type ${written} has no probability`);
      for (const k of Object.keys(dist)) assert.ok(choices.includes(k), k);
      // The grammar allows every choice there and the engine lists them all as alternatives.
      assert.equal(Object.keys(dist).length, choices.length, JSON.stringify(dist));
    }
  });
});

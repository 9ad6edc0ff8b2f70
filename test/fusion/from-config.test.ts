import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fusionSchema } from '../../src/config/schema.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Engine } from '../../src/engines/types.js';
import { fusionFromConfig } from '../../src/fusion/from-config.js';
import { trainCrf } from '../../src/slm/tagger.js';
import { sharedDocs } from './helpers.js';

describe('fusion from the config', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'el4ner-fusion-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the CRF file, finds the engine by name and reports bad names', async () => {
    const file = path.join(dir, 'crf.model');
    const crf = await trainCrf(sharedDocs('conll2003', 'train', 50), { maxIterations: 10 });
    await crf.save(file);
    const none = await fusionFromConfig(fusionSchema.parse({ slm: file, lambda: 0.4 }), new Map());
    assert.equal(none.lambda, 0.4);
    assert.equal(none.probability, 'category');
    const r = await none.tagDocument({ id: 'x', text: 'EU rejects German call .', entities: [] });
    assert.equal(r.stats.fallback, 'no-llm');

    const fake = {
      name: 'm',
      identity: 'fake',
      chat: async () => Promise.reject(new Error('down')),
    } as unknown as Engine;
    const withLlm = await fusionFromConfig(
      fusionSchema.parse({ slm: file, llm: 'm', probability: 'boundary' }),
      new Map([['m', fake]]),
    );
    assert.equal(withLlm.lambda, undefined, "lambda defaults to 'auto'");
    assert.equal(withLlm.probability, 'boundary');
    await assert.rejects(
      fusionFromConfig(fusionSchema.parse({ slm: file, llm: 'missing' }), new Map()),
      (e: Error) => e instanceof ConfigError && /fusion\.llm/.test(e.message),
    );
    await assert.rejects(
      fusionFromConfig(fusionSchema.parse({ slm: path.join(dir, 'nope.model') }), new Map()),
      (e: Error) => e instanceof ConfigError && /fusion\.slm/.test(e.message),
    );
  });
});

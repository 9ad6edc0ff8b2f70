import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createFusionTagger, createMethod } from '../../src/assemble/index.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Engine } from '../../src/engines/types.js';
import { trainCrf } from '../../src/slm/tagger.js';
import { sharedDocs } from './helpers.js';

describe('fusion from the config (the same assembly as el4ner run)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'el4ner-fusion-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const model = { name: 'm', engine: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: 'm' };

  it('loads the CRF file, finds the engine by name and reports bad names', async () => {
    const file = path.join(dir, 'crf.model');
    const crf = await trainCrf(sharedDocs('conll2003', 'train', 50), { maxIterations: 10 });
    await crf.save(file);
    const fake = {
      name: 'm',
      identity: 'fake',
      chat: async () => Promise.reject(new Error('down')),
      embed: async () => Promise.reject(new Error('down')),
      close: async () => {},
    } satisfies Engine;
    const engines = new Map([['m', fake]]);
    const tagger = await createFusionTagger(
      parseConfig({ models: [model], fusion: { slm: file, llm: 'm', probability: 'boundary' } }),
      { engines, log: () => {} },
    );
    assert.equal(tagger.fusion.lambda, undefined, "lambda defaults to 'auto'");
    assert.equal(tagger.fusion.probability, 'boundary');
    const a = await tagger.fusion.analyse({ id: 'x', text: 'EU rejects German call .', entities: [] });
    assert.equal(a.fallback, 'llm-error', 'the LLM is down: the SLM answers alone');
    await tagger.close();

    const fixed = await createMethod(
      parseConfig({ models: [model], fusion: { slm: file, llm: 'm', lambda: 0.4 } }),
      {
        engines,
        log: () => {},
      },
    );
    assert.equal(fixed.info.kind, 'fusion');
    assert.match(fixed.info.description, /lambda 0\.4/);
    await fixed.close();

    assert.throws(
      () => parseConfig({ models: [model], fusion: { slm: file, llm: 'missing' } }),
      (e: Error) => e instanceof ConfigError && /fusion\.llm/.test(e.message),
    );
    await assert.rejects(
      createMethod(parseConfig({ fusion: { slm: path.join(dir, 'nope.model') } }), { log: () => {} }),
      (e: Error) => e instanceof ConfigError && /fusion\.slm/.test(e.message),
    );
  });
});

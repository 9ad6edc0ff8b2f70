import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createFusionTagger, createMethod } from '../../src/assemble/index.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Engine } from '../../src/engines/types.js';
import { slmConfidence } from '../../src/fusion/fuse.js';
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
  it('reads the SLM line by line, and a long document chunk by chunk with turns for the event loop', async () => {
    const file = path.join(dir, 'lines.model');
    const crf = await trainCrf(sharedDocs('conll2003', 'train', 50), { maxIterations: 10 });
    await crf.save(file);
    let chats = 0;
    const down = {
      name: 'm',
      identity: 'down',
      chat: async () => {
        chats++;
        return Promise.reject(new Error('down'));
      },
      embed: async () => Promise.reject(new Error('down')),
      close: async () => {},
    } satisfies Engine;
    const tagger = await createFusionTagger(
      parseConfig({ models: [model], maxChars: 200, fusion: { slm: file, llm: 'm', lambda: 0.5 } }),
      { engines: new Map([['m', down]]), log: () => {} },
    );
    try {
      const lines = sharedDocs('conll2003', 'test', 3).map((d) => d.text);
      const doc = { id: 'lines', text: lines.join('\n'), entities: [] };
      const a = await tagger.fusion.analyse(doc);
      // Each line tagged as its own sequence: the marginals (hence S_S) are those of the lines alone.
      const perLine = lines.flatMap((line) =>
        crf.tagTokens(line.split(' ')).marginals.map((m) => slmConfidence(m)),
      );
      assert.deepEqual(a.fusion.slmConfidence, perLine);
      assert.ok(a.slmEntities.every((e) => !e.text.includes('\n')));

      const sentences = sharedDocs('conll2003', 'test', 60).map((d) => d.text);
      const long = { id: 'long', text: sentences.join(' '), entities: [] };
      let turns = 0;
      let counting = true;
      const count = () => {
        turns++;
        if (counting) setImmediate(count);
      };
      setImmediate(count);
      const whole = await tagger.fusion.analyse(long);
      counting = false;
      assert.ok(
        turns > 10,
        `the event loop had ${turns} turns while a ${long.text.length}-character text was tagged`,
      );
      assert.equal(whole.fusion.slmTags.length, whole.fusion.tokens.length);

      chats = 0;
      const stop = new AbortController();
      setImmediate(() => stop.abort());
      await assert.rejects(tagger.fusion.analyse(long, { signal: stop.signal }), { name: 'AbortError' });
      assert.equal(chats, 0, 'stopped while the SLM tagged, before any LLM call');
    } finally {
      await tagger.close();
    }
  });
});

/**
 * Two models of one config on the same GGUF file (a backbone and a verifier, or one file at two
 * temperatures) load it once: built as the CLI builds them (loadConfig + assembleEngines), on the
 * tiny GGUF, with llama.cpp for real.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assembleEngines } from '../../src/assemble/engines.js';
import { loadConfig } from '../../src/config/load.js';
import { modelLoadCounts } from '../../src/engines/llama-cpp/index.js';
import type { ChatRequest, Engine } from '../../src/engines/types.js';
import { writeTinyLora } from '../fixtures/lora/write-tiny-lora.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = path.resolve(repoRoot, '../shared/fixtures/models/tiny-random-llama.gguf');

const SCHEMA = {
  type: 'object',
  properties: { spans: { type: 'array', items: { type: 'string' } } },
  required: ['spans'],
  additionalProperties: false,
};
const ask = (sentence: string): ChatRequest => ({
  messages: [{ role: 'user', content: `Sentence: ${sentence}` }],
  jsonSchema: { name: 'spans', schema: SCHEMA },
  maxTokens: 16,
});

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'el4ner-shared-gguf-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A config whose two models name the tiny GGUF, one by its path and one through a link beside the config. */
function twoOnOneFile(): string {
  symlinkSync(MODEL, path.join(dir, 'linked.gguf'));
  return writeConfig('c.json', [
    { name: 'backbone', path: MODEL, temperature: 0, parallel: 2 },
    { name: 'verifier', path: 'linked.gguf', temperature: 0.8, seed: 3, parallel: 1 },
  ]);
}

function writeConfig(name: string, models: object[]): string {
  const file = path.join(dir, name);
  const common = { engine: 'llama-cpp', gpu: false, build: 'never', threads: 2, contextSize: 512 };
  writeFileSync(
    file,
    JSON.stringify({ models: models.map((m) => ({ ...common, ...m })), cache: { enabled: false } }),
  );
  return file;
}

test('two config models on one GGUF file share one load; each answers, and closing one keeps the other working', async () => {
  const config = loadConfig(twoOnOneFile());
  const before = modelLoadCounts();
  const set = await assembleEngines(config, { noCache: true });
  try {
    const backbone = set.engines.get('backbone');
    const verifier = set.engines.get('verifier');
    assert.ok(backbone && verifier);
    // both at once: the second must wait for the first's load, not start its own
    const [a, b] = await Promise.all([
      backbone.chat(ask('Bob met Carol in Rome.')),
      verifier.chat(ask('Ann left.')),
    ]);
    for (const r of [a, b]) assert.ok(r.usage.completionTokens > 0 && r.text.startsWith('{'), r.text);
    assert.equal(modelLoadCounts().loads - before.loads, 1, 'the file was loaded once');
    assert.equal(modelLoadCounts().loaded - before.loaded, 1, 'one model is in memory');

    await verifier.close();
    assert.equal(modelLoadCounts().loaded - before.loaded, 1, 'the backbone still holds the model');
    const again = await backbone.chat(ask('Dan flew to Oslo.'));
    assert.ok(again.usage.completionTokens > 0 && again.text.startsWith('{'), again.text);
    assert.equal(modelLoadCounts().loads - before.loads, 1, 'no load after the close');
  } finally {
    await set.close();
  }
  assert.equal(modelLoadCounts().loaded, before.loaded, 'the last user disposed the model');
});

test('a model with a LoRA adapter and one without, on one loaded file, each keep their own logits', async () => {
  const adapter = path.join(dir, 'tiny-lora.gguf');
  writeTinyLora(adapter);
  const firstTokens = async (e: Engine) => {
    const r = await e.chat({
      messages: [{ role: 'user', content: 'Mia met Ned.' }],
      maxTokens: 1,
      logprobs: true,
      topLogprobs: 5,
      temperature: 0,
    });
    return (r.logprobs?.[0]?.top ?? []).map((t) => `${t.token} ${t.logprob.toFixed(3)}`);
  };
  const plainAlone = await assembleEngines(
    loadConfig(writeConfig('plain.json', [{ name: 'plain', path: MODEL }])),
    {
      noCache: true,
    },
  );
  const alone = await firstTokens(plainAlone.engines.get('plain')!).finally(() => plainAlone.close());
  assert.equal(alone.length, 5);

  const before = modelLoadCounts();
  const both = await assembleEngines(
    loadConfig(
      writeConfig('both.json', [
        { name: 'plain', path: MODEL },
        { name: 'news', path: MODEL, lora: [{ path: adapter, scale: 1 }] },
      ]),
    ),
    { noCache: true },
  );
  try {
    const [plain, news] = await Promise.all([
      firstTokens(both.engines.get('plain')!),
      firstTokens(both.engines.get('news')!),
    ]);
    assert.equal(modelLoadCounts().loads - before.loads, 1, 'one load for both');
    assert.deepEqual(plain, alone, 'the adapter of the other model does not reach this one');
    assert.notDeepEqual(news, alone, 'the adapter is applied to its own model');
  } finally {
    await both.close();
  }
});

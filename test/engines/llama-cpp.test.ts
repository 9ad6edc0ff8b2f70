// Runs node-llama-cpp for real, on CPU, with the tiny random GGUF model (nonsense words, real plumbing).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/core/errors.js';
import { LlamaCppEngine, type LlamaCppEngineOptions } from '../../src/engines/llama-cpp/engine.js';
import type { ChatMessage, ChatRequest } from '../../src/engines/types.js';
import { writeTinyLora } from '../fixtures/lora/write-tiny-lora.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = path.resolve(repoRoot, '../shared/fixtures/models/tiny-random-llama.gguf');

// build: 'never' so a broken binary fails here at once instead of compiling llama.cpp for minutes
// (scripts/prepare-llama.mjs checks or builds the binary before the tests run).
const base = { path: MODEL, gpu: false, build: 'never', threads: 2 } as const;
function engine(extra: Partial<LlamaCppEngineOptions> = {}): LlamaCppEngine {
  return new LlamaCppEngine({ name: 'tiny', ...base, ...extra });
}

const SCHEMA = {
  type: 'object',
  properties: { spans: { type: 'array', items: { type: 'string' } } },
  required: ['spans'],
  additionalProperties: false,
};

// A long shared prefix (instructions + demonstrations) and a short varying sentence, as the NER prompts have.
const PREFIX: ChatMessage[] = [
  { role: 'system', content: 'Extract named entities. Answer with JSON only.' },
  { role: 'user', content: 'Sentence: Alice lives in Paris and works for Acme in Berlin.' },
  { role: 'assistant', content: '{"spans":["Alice","Paris","Acme","Berlin"]}' },
];
function ask(sentence: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return {
    messages: [...PREFIX, { role: 'user', content: `Sentence: ${sentence}` }],
    maxTokens: 24,
    ...extra,
  };
}

describe('LlamaCppEngine on the tiny GGUF', () => {
  let e: LlamaCppEngine;
  before(() => {
    e = engine({ parallel: 2, contextSize: 1024 });
  });
  after(async () => {
    await e.close();
  });

  test('loads lazily and answers under a JSON schema with JSON that parses', async () => {
    assert.equal(e.stats.modelLoads, 0, 'nothing is loaded before the first call');
    const r = await e.chat(
      ask('Bob met Carol in Rome.', { jsonSchema: { name: 'spans', schema: SCHEMA }, maxTokens: 64 }),
    );
    assert.equal(e.stats.modelLoads, 1);
    assert.deepEqual(JSON.parse(r.text), r.json);
    const json = r.json as { spans: unknown };
    assert.ok(Array.isArray(json.spans), `spans is an array in ${r.text}`);
    assert.ok(json.spans.every((s) => typeof s === 'string'));
    assert.ok(r.usage.promptTokens > 20);
    assert.ok(r.usage.completionTokens > 0 && r.usage.completionTokens <= 64);
    assert.ok(r.latencyMs > 0);
  });

  test('returns per-token logprobs: finite, <= 0, alternatives sorted', async () => {
    const r = await e.chat(ask('Dan flew to Oslo.', { logprobs: true, topLogprobs: 5, maxTokens: 12 }));
    assert.ok(r.logprobs && r.logprobs.length > 0, 'logprobs present');
    assert.equal(r.logprobs.length, r.usage.completionTokens);
    // Byte tokens of one multi-byte character decode to U+FFFD one by one; compare ASCII answers only.
    if (/^[\x20-\x7e\n]*$/.test(r.text))
      assert.equal(r.logprobs.map((l) => l.token).join(''), r.text, 'token texts spell the answer');
    for (const l of r.logprobs) {
      assert.ok(Number.isFinite(l.logprob) && l.logprob <= 0, `logprob ${l.logprob}`);
      assert.ok(l.top && l.top.length >= 1 && l.top.length <= 5);
      for (let i = 1; i < l.top.length; i++) assert.ok(l.top[i - 1].logprob >= l.top[i].logprob, 'sorted');
      for (const t of l.top) assert.ok(Number.isFinite(t.logprob) && t.logprob <= 0);
      // Greedy decoding (temperature 0): the chosen token is the most probable one.
      assert.ok(Math.abs(l.top[0].logprob - l.logprob) < 1e-6, 'chosen token has the top logprob');
    }
  });

  test('logprobs under a grammar only list tokens the grammar allows', async () => {
    const r = await e.chat(
      ask('Eve saw Tom.', {
        logprobs: true,
        topLogprobs: 3,
        jsonSchema: { name: 'spans', schema: SCHEMA },
        maxTokens: 64,
      }),
    );
    assert.ok(r.logprobs && r.logprobs.length > 0);
    assert.equal(r.logprobs[0].token.trim(), '{');
    for (const l of r.logprobs) assert.ok(Number.isFinite(l.logprob));
  });

  test('parallel requests share one loaded model through several sequences, extra ones queue', async () => {
    const loadsBefore = e.stats.modelLoads;
    const answers = await Promise.all([
      e.chat(ask('Ann visited Lima.', { maxTokens: 16 })),
      e.chat(ask('Ben left Cairo.', { maxTokens: 16 })),
      e.chat(ask('Cid sold Dell.', { maxTokens: 16 })),
    ]);
    assert.equal(answers.length, 3);
    for (const a of answers) assert.ok(a.usage.completionTokens > 0 || a.text === '');
    assert.equal(e.stats.modelLoads, loadsBefore, 'no second model load');
    assert.equal(e.stats.peakBusySequences, 2, 'two sequences generated at once, the third request waited');
  });

  test('a second request with the same prefix reuses the evaluated prefix', async () => {
    const fresh = engine({ parallel: 1, contextSize: 1024 });
    try {
      const first = await fresh.chat(ask('Fay met Gus.', { maxTokens: 8 }));
      assert.equal(first.usage.cachedPromptTokens, 0);
      const second = await fresh.chat(ask('Hal joined IBM.', { maxTokens: 8 }));
      assert.ok(second.usage.cachedPromptTokens > 20, `cached ${second.usage.cachedPromptTokens}`);
      assert.ok(second.usage.cachedPromptTokens < second.usage.promptTokens);
      const again = await fresh.chat(ask('Hal joined IBM.', { maxTokens: 8 }));
      assert.equal(
        again.usage.cachedPromptTokens,
        again.usage.promptTokens - 1,
        'whole prompt but the last token',
      );
    } finally {
      await fresh.close();
    }
  });

  test('maxTokens and stop strings end the answer', async () => {
    const r = await e.chat(ask('Ida met Jo.', { maxTokens: 3 }));
    assert.ok(r.usage.completionTokens <= 3);
    const long = await e.chat(ask('Ida met Jo.', { maxTokens: 40 }));
    if (long.text.length >= 4) {
      const stop = long.text.slice(2, 4);
      const cut = await e.chat(ask('Ida met Jo.', { maxTokens: 40, stop: [stop] }));
      assert.ok(
        !cut.text.includes(stop),
        `${JSON.stringify(cut.text)} does not contain ${JSON.stringify(stop)}`,
      );
      assert.ok(cut.text.length < long.text.length);
    }
  });

  test('sampling with temperature follows the seed', async () => {
    const sample = async (seed: number) => {
      const fresh = engine({ parallel: 1, contextSize: 512 });
      try {
        return (await fresh.chat(ask('Quinn met Rae.', { maxTokens: 16, temperature: 1, seed }))).text;
      } finally {
        await fresh.close();
      }
    };
    const a = await sample(7);
    assert.equal(await sample(7), a, 'same seed, same answer');
    const others = [await sample(8), await sample(9)];
    assert.ok(
      others.some((t) => t !== a),
      'other seeds give other answers',
    );
  });

  test('a prompt longer than the context fails with a clear error', async () => {
    const small = engine({ parallel: 1, contextSize: 256 });
    try {
      await assert.rejects(small.chat(ask('x '.repeat(400))), /more than the context size/);
    } finally {
      await small.close();
    }
  });

  test('an aborted request is rejected', async () => {
    await assert.rejects(e.chat(ask('Ola met Pip.'), { signal: AbortSignal.abort() }), {
      name: 'AbortError',
    });
    const r = await e.chat(ask('Ola met Pip.', { maxTokens: 2 }));
    assert.ok(r.usage.completionTokens <= 2, 'the engine still answers afterwards');
  });

  test('embeddings have the model dimension', async () => {
    const r = await e.embed(['Alice lives in Paris.', 'Bob works for Acme.']);
    assert.equal(r.vectors.length, 2);
    for (const v of r.vectors) {
      assert.ok(v instanceof Float32Array);
      assert.equal(v.length, 64);
      assert.ok(v.every((x) => Number.isFinite(x)));
    }
    assert.notDeepEqual(Array.from(r.vectors[0]), Array.from(r.vectors[1]));
    assert.ok(r.usage.promptTokens > 0);
  });
});

describe('LlamaCppEngine model files', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'el4ner-llama-'));
  });
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  test('a missing file gives a clear error', async () => {
    const e = engine({ path: path.join(tmp, 'nope.gguf') });
    await assert.rejects(e.chat(ask('x')), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /model file not found: .*nope\.gguf/);
      return true;
    });
    await e.close();
  });

  test('an hf: URI fails fast and clearly when the hub is unreachable', async () => {
    // Port 9 (discard) on localhost refuses connections: deterministic "offline", with or without network.
    const e = engine({
      path: 'hf:someone/tiny-model/tiny.gguf',
      modelCacheDir: tmp,
      hfEndpoint: 'http://127.0.0.1:9',
    });
    const t0 = Date.now();
    await assert.rejects(e.chat(ask('x')), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /unreachable/);
      assert.match(err.message, /path: \.\/models\//);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, 'fails within seconds');
    await e.close();
  });

  test('an https: model URL fails fast when its host is unreachable', async () => {
    const e = engine({ path: 'http://127.0.0.1:9/models/tiny.gguf', modelCacheDir: tmp });
    await assert.rejects(e.chat(ask('x')), /127\.0\.0\.1:9 is unreachable/);
    await e.close();
  });

  test('an hf: URI with downloads disabled fails at once', async () => {
    const e = engine({ path: 'hf:someone/tiny-model/tiny.gguf', modelCacheDir: tmp, download: false });
    await assert.rejects(e.chat(ask('x')), /not in the model cache and downloads are disabled/);
    await e.close();
  });

  test('an hf: URI already in the cache loads without network', async () => {
    const cache = path.join(tmp, 'cache');
    mkdirSync(cache);
    copyFileSync(MODEL, path.join(cache, 'hf_someone_tiny-model_tiny.gguf'));
    const e = engine({
      path: 'hf:someone/tiny-model/tiny.gguf',
      modelCacheDir: cache,
      hfEndpoint: 'http://127.0.0.1:9',
    });
    try {
      const r = await e.chat(ask('Kim met Lee.', { maxTokens: 4 }));
      assert.ok(r.usage.promptTokens > 0);
      assert.equal(e.identity, 'llama-cpp:hf:someone/tiny-model/tiny.gguf');
    } finally {
      await e.close();
    }
  });

  test('a closed engine refuses new requests', async () => {
    const e = engine();
    await e.close();
    await assert.rejects(e.chat(ask('x')), /closed/);
  });
});

describe('LlamaCppEngine with a LoRA adapter', () => {
  let tmp: string;
  let adapter: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'el4ner-lora-'));
    adapter = path.join(tmp, 'tiny-lora.gguf');
    writeTinyLora(adapter);
  });
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  async function firstTokenTop(options: Partial<LlamaCppEngineOptions>) {
    const e = engine({ parallel: 1, contextSize: 512, ...options });
    try {
      const r = await e.chat(ask('Mia met Ned.', { maxTokens: 1, logprobs: true, topLogprobs: 5 }));
      return { identity: e.identity, top: r.logprobs?.[0]?.top ?? [] };
    } finally {
      await e.close();
    }
  }

  test('the adapter loads, and its scale changes the logits (scale 0 = base model)', async () => {
    const baseTop = await firstTokenTop({});
    const off = await firstTokenTop({ lora: [{ path: adapter, scale: 0 }] });
    const on = await firstTokenTop({ lora: [{ path: adapter, scale: 1 }] });
    assert.equal(baseTop.top.length, 5);
    assert.equal(on.top.length, 5);
    // Scale 0 leaves the base model's distribution (up to float noise).
    assert.deepEqual(
      off.top.map((t) => t.token),
      baseTop.top.map((t) => t.token),
    );
    for (let i = 0; i < 5; i++) assert.ok(Math.abs(off.top[i].logprob - baseTop.top[i].logprob) < 1e-3);
    // Scale 1 changes it.
    const differs = on.top.some(
      (t, i) => t.token !== baseTop.top[i].token || Math.abs(t.logprob - baseTop.top[i].logprob) > 1e-3,
    );
    assert.ok(differs, `LoRA at scale 1 changed nothing: ${JSON.stringify(on.top)}`);
    assert.notEqual(on.identity, off.identity, 'the scale is part of the cache identity');
  });

  test('a missing adapter file gives a clear error', async () => {
    const e = engine({ lora: [{ path: path.join(tmp, 'missing.gguf'), scale: 1 }] });
    await assert.rejects(e.chat(ask('x')), /LoRA adapter file not found/);
    await e.close();
  });
});

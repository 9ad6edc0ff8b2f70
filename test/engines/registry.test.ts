import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { CostLedger } from '../../src/engines/cost.js';
import { SchemaError } from '../../src/engines/errors.js';
import { OpenAIEngine } from '../../src/engines/openai.js';
import { createEngines, reaskMessage, wrapEngine } from '../../src/engines/registry.js';
import {
  type ScriptedServer,
  scriptByModel,
  startScriptedServer,
} from '../../src/engines/testing/scripted-server.js';
import type { ChatRequest } from '../../src/engines/types.js';

const schema = {
  type: 'object',
  properties: { entities: { type: 'array', items: { type: 'string' } } },
  required: ['entities'],
  additionalProperties: false,
};
const ask = (content: string, stage = 'extract'): ChatRequest => ({
  messages: [
    { role: 'system', content: 'Extract entities.' },
    { role: 'user', content },
  ],
  jsonSchema: { name: 'entities', schema },
  stage,
});

const fast = { baseDelayMs: 2, maxDelayMs: 10 };

describe('wrapEngine: schema validation with one re-ask', () => {
  let srv: ScriptedServer;
  before(async () => {
    srv = await startScriptedServer({
      chat: scriptByModel({
        // answers in prose the first time, correct JSON when told the error
        learner: (r) => (r.messages.length > 2 ? { json: { entities: ['Paris'] } } : 'The entity is Paris.'),
        // never fits
        stubborn: (r) => (r.messages.length > 2 ? '{"entities": "Paris"}' : '{"names": ["Paris"]}'),
        // prose around valid JSON
        chatty: () => 'Sure, here you go:\n```json\n{"entities": ["EU",],}\n```\nHope this helps!',
      }),
    });
  });
  after(() => srv.close());

  const engine = (model: string, ledger = new CostLedger()) =>
    wrapEngine(
      new OpenAIEngine(
        {
          name: model,
          engine: 'openai',
          baseUrl: srv.url,
          model,
          concurrency: 2,
          timeoutMs: 2000,
          maxAttempts: 2,
          temperature: 0,
          maxTokens: 50,
          server: 'openai',
        },
        { retry: fast },
      ),
      { ledger },
    );

  it('shows the error to the model once and returns the corrected JSON', async () => {
    const ledger = new CostLedger();
    const n0 = srv.requests.length;
    const r = await engine('learner', ledger).chat(ask('I love Paris.'));
    assert.deepEqual(r.json, { entities: ['Paris'] });
    const sent = srv.requests.slice(n0);
    assert.equal(sent.length, 2);
    const second = sent[1].messages;
    assert.equal(second.length, 4);
    assert.deepEqual(second[2], { role: 'assistant', content: 'The entity is Paris.' });
    assert.equal(second[3].role, 'user');
    assert.match(
      second[3].content,
      /^Your answer was invalid: .*no JSON.*Answer again with JSON only that matches the schema\.$/,
    );
    assert.equal(ledger.summary().byStage.extract.calls, 2);
    assert.ok(r.usage.promptTokens > 0);
  });

  it('gives up with SchemaError after the one retry', async () => {
    const n0 = srv.requests.length;
    await assert.rejects(engine('stubborn').chat(ask('I love Paris.')), (e: unknown) => {
      assert.ok(e instanceof SchemaError);
      assert.match(e.message, /entities/);
      assert.equal(e.text, '{"entities": "Paris"}');
      return true;
    });
    const sent = srv.requests.slice(n0);
    assert.equal(sent.length, 2);
    assert.match(
      sent[1].messages[3].content,
      /must have required property 'entities'|must NOT have additional properties/,
    );
  });

  it('parses JSON wrapped in prose and a fence without a retry', async () => {
    const n0 = srv.requests.length;
    const r = await engine('chatty').chat(ask('EU rules.'));
    assert.deepEqual(r.json, { entities: ['EU'] });
    assert.equal(srv.requests.length - n0, 1);
  });

  it('builds the re-ask text', () => {
    assert.equal(
      reaskMessage('x'),
      'Your answer was invalid: x. Answer again with JSON only that matches the schema.',
    );
  });
});

describe('createEngines: cache and ledger over real HTTP', () => {
  let srv: ScriptedServer;
  let dir: string;
  const SECRET = 'sk-registry-key-0123456789';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'el4ner-reg-'));
    process.env.EL4NER_REG_KEY = SECRET;
    srv = await startScriptedServer({
      chat: scriptByModel({
        small: (r) => ({
          json: { entities: String(r.messages.at(-1)?.content).match(/[A-Z]\w+/g) ?? [] },
          logprobs: 'auto',
        }),
        other: () => ({ content: `t=${Math.random()}` }),
      }),
    });
  });
  after(async () => {
    delete process.env.EL4NER_REG_KEY;
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const config = () =>
    parseConfig({
      models: [
        {
          name: 'small',
          engine: 'openai',
          baseUrl: srv.url,
          model: 'small',
          apiKeyEnv: 'EL4NER_REG_KEY',
          timeoutMs: 2000,
        },
        { name: 'hot', engine: 'openai', baseUrl: srv.url, model: 'other', temperature: 0.7 },
      ],
      cache: { path: join(dir, 'cache', 'responses.sqlite') },
    });
  const requests = ['Alice met Bob.', 'Paris is in France.', 'Nothing here.'].map((t) => ({
    ...ask(t),
    logprobs: true,
    topLogprobs: 1,
  }));

  it('a second identical run makes zero HTTP calls', async () => {
    const run = async () => {
      const set = await createEngines(config(), { retry: fast });
      try {
        const small = set.engines.get('small');
        assert.ok(small);
        const out = await Promise.all(requests.map((r) => small.chat(r)));
        const vecs = await small.embed(['Alice', 'Bob'], { stage: 'retrieval' });
        return { out, vecs, summary: set.ledger.summary() };
      } finally {
        await set.close();
      }
    };
    const n0 = srv.requests.length;
    const first = await run();
    const afterFirst = srv.requests.length;
    assert.equal(afterFirst - n0, 4, 'three chats and one embeddings call');
    assert.deepEqual(first.out[0].json, { entities: ['Alice', 'Bob'] });
    assert.ok(first.out[0].logprobs?.length);
    assert.equal(first.summary.cache.misses, 4);
    assert.equal(first.summary.byStage.extract.calls, 3);
    assert.equal(first.summary.byStage.retrieval.calls, 1);

    const second = await run();
    assert.equal(srv.requests.length, afterFirst, 'no HTTP call on the second run');
    assert.equal(second.summary.cache.hits, 4);
    assert.equal(second.summary.total.calls, 0);
    assert.ok(second.out.every((r) => r.fromCache === true));
    assert.deepEqual(
      second.out.map((r) => r.json),
      first.out.map((r) => r.json),
    );
    assert.deepEqual(second.out[1].logprobs, first.out[1].logprobs);
    assert.deepEqual(
      second.vecs.vectors.map((v) => Array.from(v)),
      first.vecs.vectors.map((v) => Array.from(v)),
    );
  });

  it('keeps the API key out of the cache file', () => {
    const files = readdirSync(join(dir, 'cache'));
    assert.ok(files.length > 0);
    for (const f of files) assert.ok(!readFileSync(join(dir, 'cache', f)).includes(SECRET), f);
  });

  it('does not cache temperature > 0, and noCache turns the cache off', async () => {
    const set = await createEngines(config(), { retry: fast });
    const n0 = srv.requests.length;
    try {
      const hot = set.engines.get('hot');
      assert.ok(hot);
      await hot.chat({ messages: [{ role: 'user', content: 'x' }] });
      await hot.chat({ messages: [{ role: 'user', content: 'x' }] });
      assert.equal(srv.requests.length - n0, 2);
    } finally {
      await set.close();
    }
    const set2 = await createEngines(config(), { noCache: true, retry: fast });
    try {
      assert.equal(set2.cache, undefined);
      await set2.engines.get('small')?.chat(requests[0]);
      assert.equal(srv.requests.length - n0, 3);
    } finally {
      await set2.close();
    }
  });

  it('records into a shared ledger with model defaults filled in', async () => {
    const ledger = new CostLedger();
    const set = await createEngines(config(), { noCache: true, ledger, retry: fast });
    try {
      assert.equal(set.ledger, ledger);
      await set.engines.get('small')?.chat({ messages: [{ role: 'user', content: 'hi' }] });
      const last = srv.requests.at(-1);
      assert.equal(last?.body.max_tokens, 512);
      assert.equal(last?.body.temperature, 0);
      assert.equal(ledger.summary().byStage.other.calls, 1);
      assert.equal(ledger.summary().byModel.small.calls, 1);
    } finally {
      await set.close();
    }
  });

  it('asks once for identical requests in flight at the same time', async () => {
    const set = await createEngines(config(), { cachePath: join(dir, 'inflight.sqlite'), retry: fast });
    try {
      const n0 = srv.requests.length;
      const small = set.engines.get('small');
      assert.ok(small);
      const req = ask('Concurrent Zed arrives.');
      const out = await Promise.all([small.chat(req), small.chat(req), small.chat(req)]);
      assert.equal(srv.requests.length - n0, 1);
      assert.ok(
        out.every((r) => JSON.stringify(r.json) === JSON.stringify({ entities: ['Concurrent', 'Zed'] })),
      );
      assert.equal(out.filter((r) => r.fromCache).length, 2);
      assert.equal(set.ledger.summary().cache.hits, 2);
    } finally {
      await set.close();
    }
  });

  it('builds a llama-cpp engine lazily (no model load at creation)', async () => {
    const cfg = parseConfig({
      models: [{ name: 'tiny', engine: 'llama-cpp', path: '/nonexistent/model.gguf' }],
    });
    const set = await createEngines(cfg, { noCache: true });
    try {
      const tiny = set.engines.get('tiny');
      assert.ok(tiny);
      assert.equal(tiny.name, 'tiny');
      assert.match(tiny.identity, /^llama-cpp/);
      assert.ok(tiny.identity.includes('/nonexistent/model.gguf'));
    } finally {
      await set.close();
    }
  });
});

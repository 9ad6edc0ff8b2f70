import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { CostLedger } from '../../src/engines/cost.js';
import { createEngines } from '../../src/engines/registry.js';
import type { ChatRequest } from '../../src/engines/types.js';
import { type ScriptedServer, scriptByModel, startScriptedServer } from '../support/scripted-server.js';

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
    assert.deepEqual(JSON.parse(first.out[0].text), { entities: ['Alice', 'Bob'] });
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
      second.out.map((r) => r.text),
      first.out.map((r) => r.text),
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
      assert.ok(out.every((r) => r.text === JSON.stringify({ entities: ['Concurrent', 'Zed'] })));
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

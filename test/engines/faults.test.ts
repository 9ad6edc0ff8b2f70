/**
 * Issue 18 at the engine layer, driven by the fault server over real HTTP, with engines built by
 * createEngines from a config (as the CLI builds them): every fault mode ends in a clear cause or
 * an answer; the size limit (defect 6), the call's deadline with Retry-After (13), the circuit
 * breaker (13), the cost table's requests and unusable answers (10), the cache as a cache
 * (4, 6, 14, 16).
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SchemaError } from '../../src/answers/errors.js';
import { type AnswerReader, resolveAnswer } from '../../src/answers/resolve.js';
import { parseConfig } from '../../src/config/load.js';
import { ResponseCache } from '../../src/engines/cache.js';
import { CacheError, EngineError } from '../../src/engines/errors.js';
import { createEngines } from '../../src/engines/registry.js';
import type { ChatRequest } from '../../src/engines/types.js';
import { FAULT_MODES, type FaultMode, type FaultServer, startFaultServer } from '../support/fault-server.js';

const schema = {
  type: 'object',
  properties: { entities: { type: 'array', items: { type: 'string' } } },
  required: ['entities'],
};
const request = (text: string): ChatRequest => ({
  messages: [
    { role: 'system', content: 'List the names.' },
    { role: 'user', content: text },
  ],
  jsonSchema: { name: 'entities', schema },
  stage: 'extract',
  temperature: 0,
});
const names = (text: string) => text.match(/[A-Z]\w+/g) ?? [];
const reader: AnswerReader<string[]> = {
  read(json) {
    const e = (json as { entities?: unknown })?.entities;
    return Array.isArray(e) && e.every((x) => typeof x === 'string')
      ? { value: e as string[], repairs: [] }
      : { repairs: [], problem: 'no "entities" list of strings' };
  },
};
const healthy = (req: { messages: Array<{ content: string }> }) => ({
  json: { entities: names(String(req.messages[1]?.content ?? '')) },
});
const fast = { baseDelayMs: 5, maxDelayMs: 20 };

function modelConfig(url: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'm',
    engine: 'openai',
    baseUrl: url,
    model: 'm',
    timeoutMs: 1500,
    maxAttempts: 2,
    circuitBreaker: { failures: 0 },
    ...extra,
  };
}

/** What a call ends in, for each fault mode (the cause a user reads). */
const expected: Record<FaultMode, RegExp> = {
  '429': /HTTP 429 rate limited/,
  '500': /HTTP 500 server error/,
  '503': /HTTP 503 server error/,
  reset: /connection|socket|terminated/i,
  hang: /timed out after \d+ ms/,
  slow: /timed out after \d+ ms/,
  truncated: /malformed response/,
  cut: /connection|terminated|malformed/i,
  prose: /no usable answer after 2 request\(s\): it contains no JSON/,
  'wrong-schema': /no usable answer after 2 request\(s\): no "entities"/,
  empty: /no usable answer after 2 request\(s\): it contains no JSON/,
  huge: /larger than maxResponseBytes/,
  unbalanced: /larger than maxResponseBytes/,
  adversarial: /no usable answer after 2 request\(s\)/,
  'text-plain': /malformed response/,
  html: /HTTP 502 server error/,
};

describe('every fault mode of the fault server, through createEngines and the resolver', () => {
  let srv: FaultServer;
  before(async () => {
    srv = await startFaultServer({ healthy, faults: {}, slowMs: 3000, retryAfterS: 0 });
  });
  after(() => srv.close());

  for (const mode of FAULT_MODES) {
    it(`${mode}: a clear cause, counted in the cost table`, async () => {
      srv.setFaults({ m: { rate: 1, modes: [mode] } });
      const set = await createEngines(parseConfig({ models: [modelConfig(srv.url)] }), {
        noCache: true,
        retry: fast,
      });
      try {
        const engine = set.engines.get('m')!;
        const err = await resolveAnswer(engine, request('Alice met Bob.'), reader).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof EngineError || err instanceof SchemaError, String(err));
        assert.match((err as Error).message, expected[mode]);
        const t = set.ledger.summary().byModel.m;
        if (err instanceof SchemaError) {
          assert.equal(t.unusable, 2, 'both answers counted as unusable');
          assert.equal(t.failedCalls, 0);
        } else if (mode === 'huge' || mode === 'unbalanced') {
          // too large: refused as it streams in, asked again once (shorter), without retries
          assert.deepEqual([t.calls, t.requests, t.failedCalls, t.unusable], [2, 2, 2, 1]);
        } else {
          assert.equal(t.failedCalls, 1);
          assert.equal(t.requests, 2, 'both attempts counted');
        }
      } finally {
        await set.close();
      }
    });
  }

  it('a healthy answer after faults: retries counted as requests, the answer used', async () => {
    srv.setFaults({ m: { rate: 0.5, modes: ['500', 'reset', 'truncated'] } });
    const set = await createEngines(parseConfig({ models: [modelConfig(srv.url, { maxAttempts: 6 })] }), {
      noCache: true,
      retry: fast,
    });
    try {
      const texts = Array.from({ length: 20 }, (_, i) => `Alice${i} met Bob${i}.`);
      const got = await Promise.all(
        texts.map((t) => resolveAnswer(set.engines.get('m')!, request(t), reader)),
      );
      assert.deepEqual(
        got.map((g) => g.value),
        texts.map(names),
      );
      const t = set.ledger.summary().byModel.m;
      assert.equal(t.calls, 20);
      assert.ok(t.requests > t.calls, `requests ${t.requests} for ${t.calls} calls: retries are counted`);
      assert.match(set.ledger.format(), /requests/);
    } finally {
      await set.close();
    }
  });
});

describe('the call deadline and the circuit breaker', () => {
  let srv: FaultServer;
  before(async () => {
    srv = await startFaultServer({ healthy, faults: {}, retryAfterS: 60 });
  });
  after(() => srv.close());

  it('a Retry-After past the deadline fails the call at once (not after 60 s)', {
    timeout: 20_000,
  }, async () => {
    srv.setFaults({ m: { rate: 1, modes: ['503'] } });
    const set = await createEngines(
      parseConfig({ models: [modelConfig(srv.url, { timeoutMs: 300, maxAttempts: 3, deadlineMs: 2000 })] }),
      { noCache: true, retry: fast },
    );
    try {
      const t0 = Date.now();
      await assert.rejects(set.engines.get('m')!.chat(request('Alice.')), (e: unknown) => {
        assert.ok(e instanceof EngineError);
        assert.match(e.message, /retry after 60000 ms, past the call's deadline of 2000 ms/);
        return true;
      });
      assert.ok(Date.now() - t0 < 2000, 'the call ended before its deadline');
    } finally {
      await set.close();
    }
  });

  it('a dead model stops getting requests; it is used again once it answers', async () => {
    srv.setFaults({ m: { rate: 1, modes: ['reset'] } });
    const notes: string[] = [];
    const set = await createEngines(
      parseConfig({
        models: [modelConfig(srv.url, { circuitBreaker: { failures: 3, cooldownMs: 300 } })],
      }),
      { noCache: true, retry: fast, log: (m) => notes.push(m) },
    );
    try {
      const engine = set.engines.get('m')!;
      const before = srv.requests.length;
      for (let i = 0; i < 50; i++) await engine.chat(request(`Alice ${i}.`)).catch(() => {});
      const sent = srv.requests.length - before;
      assert.equal(sent, 3 * 2, 'three calls of two attempts, then the breaker refuses the rest');
      const s = set.ledger.summary();
      assert.equal(s.byModel.m.failedCalls, 3);
      assert.equal(s.byModel.m.refused, 47);
      assert.equal(s.breakers?.m.state, 'open');
      assert.match(
        set.ledger.format(),
        /circuit breaker of model m: open, opened 1 time\(s\), 47 call\(s\) refused/,
      );
      assert.ok(notes.some((n) => /circuit breaker open, 3 calls failed in a row/.test(n)));
      // the model comes back: after the cooldown one probe goes out and closes the breaker
      srv.setFaults({});
      await new Promise((r) => setTimeout(r, 350));
      const r = await engine.chat(request('Alice again.'));
      assert.match(r.text, /Alice/);
      assert.equal(set.ledger.summary().breakers?.m.state, 'closed');
      assert.ok(notes.some((n) => /answered again, circuit breaker closed/.test(n)));
    } finally {
      await set.close();
    }
  });
});

describe('the response cache is a cache', () => {
  let dir: string;
  let srv: FaultServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'el4ner-cache-faults-'));
    srv = await startFaultServer({ healthy, faults: {} });
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a damaged file is refused at open, with its name (never blamed on a model)', () => {
    const path = join(dir, 'broken.sqlite');
    const c = new ResponseCache(path, { log: () => {} });
    for (let i = 0; i < 200; i++)
      c.putChat(`k${i}`, 'e', {
        text: `answer ${i} ${'x'.repeat(500)}`,
        usage: { promptTokens: 1, completionTokens: 1, cachedPromptTokens: 0 },
        latencyMs: 1,
      });
    c.close();
    // garbage over the pages after the header, as a disk or a copy gone wrong leaves it
    const db = new Database(path);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const buf = Buffer.alloc(4096 * 8, 0x5a);
    const fd = openSync(path, 'r+');
    writeSync(fd, buf, 0, buf.length, 4096 * 2);
    closeSync(fd);
    assert.throws(
      () => new ResponseCache(path, { log: () => {} }),
      (e: unknown) =>
        e instanceof CacheError && e.message.includes(path) && /integrity|malformed|corrupt/i.test(e.message),
    );
    writeFileSync(join(dir, 'not-a-db.sqlite'), 'this is not a database at all, just text. '.repeat(200));
    assert.throws(
      () => new ResponseCache(join(dir, 'not-a-db.sqlite'), { log: () => {} }),
      (e: unknown) => e instanceof CacheError && e.message.includes('not-a-db.sqlite'),
    );
  });

  it('a read or write that fails at run time is a miss, said once, not a model failure', async () => {
    srv.setFaults({});
    const path = join(dir, 'live.sqlite');
    const notes: string[] = [];
    const set = await createEngines(parseConfig({ models: [modelConfig(srv.url)], cache: { path } }), {
      retry: fast,
      log: (m) => notes.push(m),
    });
    try {
      const engine = set.engines.get('m')!;
      await engine.chat(request('Alice met Bob.'));
      // another process breaks the table under the open cache
      const other = new Database(path);
      other.exec('DROP TABLE responses');
      other.close();
      for (const t of ['Alice met Bob.', 'Carol met Dan.', 'Eve met Fay.']) {
        const r = await engine.chat(request(t));
        assert.deepEqual(JSON.parse(r.text).entities, names(t));
      }
      const s = set.ledger.summary();
      assert.equal(s.byModel.m.failedCalls, 0, 'a cache error is not a model failure');
      assert.equal(s.byModel.m.calls, 4);
      const cacheNotes = notes.filter((n) => n.includes(path));
      assert.equal(cacheNotes.filter((n) => /read failed/.test(n)).length, 1, notes.join('\n'));
      assert.equal(cacheNotes.filter((n) => /could not be stored/.test(n)).length, 1, notes.join('\n'));
    } finally {
      await set.close();
    }
  });

  it('an answer is stored once (its text), not text plus parsed JSON; answers over the limit are not', async () => {
    srv.setFaults({});
    const path = join(dir, 'once.sqlite');
    const set = await createEngines(parseConfig({ models: [modelConfig(srv.url)], cache: { path } }), {
      retry: fast,
    });
    try {
      const text = `${Array.from({ length: 3000 }, (_, i) => `Name${i}`).join(' ')}.`;
      const r = await set.engines.get('m')!.chat(request(text));
      const db = new Database(path, { readonly: true });
      const row = db.prepare('SELECT response FROM responses').get() as { response: string };
      db.close();
      assert.ok(
        row.response.length < r.text.length * 1.2 + 300,
        `${row.response.length} for ${r.text.length}`,
      );
      assert.equal((row.response.match(/Name2999/g) ?? []).length, 1);
    } finally {
      await set.close();
    }
  });

  it('a cached answer that cannot be used is asked again past the cache, and replaced', async () => {
    srv.setFaults({});
    const path = join(dir, 'bogus.sqlite');
    const build = () =>
      createEngines(parseConfig({ models: [modelConfig(srv.url)], cache: { path } }), { retry: fast });
    const texts = ['Alice met Bob.', 'Carol met Dan.', 'Eve met Fay.', 'Gus met Hal.'];
    let set = await build();
    for (const t of texts) await resolveAnswer(set.engines.get('m')!, request(t), reader);
    await set.close();
    // bogus rows: prose, wrong schema, no text at all, an embedding where a chat answer should be
    const db = new Database(path);
    const rows = db.prepare('SELECT key FROM responses ORDER BY rowid').all() as Array<{ key: string }>;
    const bogus = [
      { kind: 'chat', response: { text: 'I am not sure.', usage: {}, latencyMs: 1 } },
      { kind: 'chat', response: { text: '{"answer": 42}', usage: {}, latencyMs: 1 } },
      { kind: 'chat', response: {} },
      { kind: 'embed', vectors: [[1]], usage: {} },
    ];
    const update = db.prepare('UPDATE responses SET response = ? WHERE key = ?');
    for (const [i, r] of rows.entries()) update.run(JSON.stringify(bogus[i]), r.key);
    db.close();
    set = await build();
    try {
      const before = srv.requests.length;
      const got = await Promise.all(
        texts.map((t) => resolveAnswer(set.engines.get('m')!, request(t), reader)),
      );
      assert.deepEqual(
        got.map((g) => g.value),
        texts.map(names),
      );
      assert.equal(srv.requests.length - before, 4, 'each bogus row asked again once');
      const again = await Promise.all(
        texts.map((t) => resolveAnswer(set.engines.get('m')!, request(t), reader)),
      );
      assert.ok(again.every((g) => g.response.fromCache));
      assert.equal(srv.requests.length - before, 4, 'the good answers replaced the bogus rows');
    } finally {
      await set.close();
    }
  });
});

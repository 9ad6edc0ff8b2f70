import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { NerDocument } from '../../src/core/types.js';
import { buildServer } from '../../src/server/app.js';
import { oracleConfig, readGold, startOracleServer } from '../support/oracle-server.js';
import type { ScriptedServer } from '../support/scripted-server.js';

let backend: ScriptedServer;
let app: FastifyInstance;
let base: string;
let gold: NerDocument[];
const TOKEN = 'test-token-123';
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of the API under test
const J = (r: Response): Promise<any> => r.json();

before(async () => {
  gold = readGold('conll2003', 'test', 40).filter((d) => d.entities.length > 0);
  backend = await startOracleServer(gold);
  app = await buildServer({
    config: oracleConfig(backend.url, ['a', 'b']),
    token: TOKEN,
    bodyLimit: 64 * 1024,
    requestTimeoutMs: 10_000,
  });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app.close();
  await backend.close();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

test('POST /v1/ner returns the entities of a text, with offsets', async () => {
  const doc = gold[0];
  const r = await post('/v1/ner', { text: doc.text });
  assert.equal(r.status, 200);
  const j = await J(r);
  assert.equal(j.results.length, 1);
  const got = j.results[0].entities
    .map((e: { start: number; end: number; type: string }) => `${e.start}:${e.end}:${e.type}`)
    .sort();
  assert.deepEqual(got, doc.entities.map((e) => `${e.start}:${e.end}:${e.type}`).sort());
  for (const e of j.results[0].entities) assert.equal(doc.text.slice(e.start, e.end), e.text);
});

test('invalid requests are 400 with a clear message; oversized bodies 413', async () => {
  const bad = await post('/v1/ner', '{"text": ');
  assert.equal(bad.status, 400);
  assert.match((await J(bad)).error, /JSON/i);
  const wrongType = await post('/v1/ner', { text: 42 });
  assert.equal(wrongType.status, 400);
  assert.match((await J(wrongType)).error, /body\/text must be string/);
  const neither = await post('/v1/ner', { foo: 'x' });
  assert.equal(neither.status, 400);
  const big = await post('/v1/ner', { text: 'x'.repeat(100 * 1024) });
  assert.equal(big.status, 413);
});

test('a missing or wrong token is 401; /healthz needs none', async () => {
  assert.equal((await post('/v1/ner', { text: 'x' }, { authorization: '' })).status, 401);
  assert.equal((await post('/v1/ner', { text: 'x' }, { authorization: 'Bearer nope' })).status, 401);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 401);
});

test('batch jobs run in the background and are polled', async () => {
  const texts = gold.slice(0, 6).map((d) => d.text);
  const r = await post('/v1/ner/jobs', { texts });
  assert.equal(r.status, 202);
  const { id } = await J(r);
  let job: { status: string; done: number; total: number; results?: { entities: unknown[] }[] };
  const deadline = Date.now() + 10_000;
  do {
    await new Promise((res) => setTimeout(res, 50));
    job = await J(
      await fetch(`${base}/v1/ner/jobs/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } }),
    );
  } while (job.status !== 'done' && Date.now() < deadline);
  assert.equal(job.status, 'done');
  assert.equal(job.results?.length, 6);
  assert.equal(job.results?.[0].entities.length, gold[0].entities.length);
  assert.equal(
    (await fetch(`${base}/v1/ner/jobs/nope`, { headers: { authorization: `Bearer ${TOKEN}` } })).status,
    404,
  );
});

test('200 concurrent requests: no error, no lost response', async () => {
  const responses = await Promise.all(
    Array.from({ length: 200 }, (_, i) => {
      const doc = gold[i % gold.length];
      return post('/v1/ner', { text: doc.text }).then(async (r) => ({
        i,
        status: r.status,
        body: await J(r),
      }));
    }),
  );
  assert.equal(responses.length, 200);
  for (const { i, status, body } of responses) {
    assert.equal(status, 200);
    assert.equal(body.results[0].text, gold[i % gold.length].text);
    assert.equal(body.results[0].entities.length, gold[i % gold.length].entities.length);
  }
});

test('/metrics, /openapi.json and the HTML page', async () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  const m = await (await fetch(`${base}/metrics`, { headers: auth })).text();
  assert.match(m, /el4ner_http_requests_total\{route="\/v1\/ner",method="POST",status="200"\} \d+/);
  assert.match(m, /el4ner_http_request_duration_seconds_bucket/);
  assert.match(m, /el4ner_llm_calls\{model="a",outcome="ok"\} [1-9]/);
  assert.match(m, /el4ner_llm_tokens\{model="b",kind="prompt"\} [1-9]/);
  const o = await J(await fetch(`${base}/openapi.json`, { headers: auth }));
  assert.equal(o.openapi, '3.0.3');
  assert.ok(o.paths['/v1/ner'].post);
  const html = await (
    await fetch(`${base}/?text=${encodeURIComponent(gold[0].text)}`, { headers: auth })
  ).text();
  assert.match(html, /<form method="get"/);
  assert.match(html, new RegExp(`data-type="${gold[0].entities[0].type}"`));
});

test('an engine that is down: /readyz 503, /v1/ner a clear 503, the process stays up', async () => {
  const down = await buildServer({
    config: oracleConfig('http://127.0.0.1:9/v1', ['dead']),
    requestTimeoutMs: 20_000,
  });
  const url = await down.listen({ host: '127.0.0.1', port: 0 });
  try {
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    const rj = await J(ready);
    assert.equal(rj.models.dead.ok, false);
    const r = await fetch(`${url}/v1/ner`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: gold[0].text }),
    });
    assert.equal(r.status, 503);
    assert.match((await J(r)).error, /no engine answered/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    await down.close();
  }
});

test('graceful shutdown finishes in-flight requests', async () => {
  const slow = await startOracleServer(gold, {}, () => undefined);
  const slowBackend = await (await import('../support/scripted-server.js')).startScriptedServer({
    chat: async (req) => {
      const r = await fetch(`${slow.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(req.body),
      });
      const j = await J(r);
      return { content: j.choices[0].message.content, delayMs: 300 };
    },
  });
  const s = await buildServer({ config: oracleConfig(slowBackend.url, ['a']) });
  const url = await s.listen({ host: '127.0.0.1', port: 0 });
  try {
    const inflight = fetch(`${url}/v1/ner`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: gold[1].text }),
    });
    await new Promise((res) => setTimeout(res, 100));
    const closing = s.close();
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal((await J(r)).results[0].entities.length, gold[1].entities.length);
    await closing;
    await assert.rejects(fetch(`${url}/healthz`));
  } finally {
    await slowBackend.close();
    await slow.close();
  }
});

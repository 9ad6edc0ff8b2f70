/**
 * Issue 18 against `serve` (buildServer, as the command builds it), with the fault server as the
 * model: no model request after a 504 or a client gone (defect 2), /healthz while a request is
 * stuck, /readyz that reflects a bad pool or CRF, no paths or file contents in 5xx bodies, no
 * credentials of baseUrl anywhere (9), the Host check, no cross-site GET /?text=, CSP (15).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { NerDocument } from '../../src/core/types.js';
import { buildServer } from '../../src/server/app.js';
import { type FaultServer, startFaultServer } from '../support/fault-server.js';
import { goldByText, oracleAnswer } from '../support/oracle.js';
import { oracleConfig, readGold, schemaName } from '../support/oracle-server.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of the API under test
const J = (r: Response): Promise<any> => r.json();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A GET with headers fetch will not send (Host, Sec-Fetch-Site). */
function rawGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = httpRequest(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, headers },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('serve under faults', () => {
  let gold: NerDocument[];
  let models: FaultServer;
  let dir: string;
  const logs: string[] = [];
  const servers: FastifyInstance[] = [];

  before(async () => {
    gold = readGold('conll2003', 'test', 60).filter((d) => d.entities.length > 0);
    const byText = goldByText(gold);
    models = await startFaultServer({
      healthy: (req) => ({ json: oracleAnswer(byText, {}, req.messages, schemaName(req)) }),
      faults: {},
      slowMs: 400,
    });
    dir = mkdtempSync(join(tmpdir(), 'el4ner-serve-faults-'));
  });
  after(async () => {
    for (const s of servers) await s.close();
    await models.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function serve(config = oracleConfig(models.url, ['a', 'b', 'c']), extra = {}) {
    const app = await buildServer({ config, requestTimeoutMs: 800, log: (m) => logs.push(m), ...extra });
    servers.push(app);
    return { app, url: await app.listen({ host: '127.0.0.1', port: 0 }) };
  }
  const post = (url: string, body: unknown, signal?: AbortSignal) =>
    fetch(`${url}/v1/ner`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });

  it('answers 504 and then sends no model request for that request', async () => {
    models.setFaults({ '*': { rate: 1, modes: ['slow'] } });
    const { url } = await serve();
    const before = models.requests.length;
    const r = await post(url, { texts: gold.slice(0, 30).map((d) => d.text) });
    const answeredAt = Date.now();
    assert.equal(r.status, 504);
    assert.match((await J(r)).error, /timed out after 800 ms/);
    assert.ok(models.requests.length > before, 'the request did reach the models');
    await sleep(1500);
    // (250 ms: requests already on the wire when the 504 went out, seen late by a busy machine)
    const late = models.requests.filter((q) => (q.at ?? 0) > answeredAt + 250);
    assert.equal(late.length, 0, `${late.length} model request(s) after the 504`);
    assert.equal(models.inFlight, 0, 'the model requests in flight were aborted');
    models.setFaults({});
  });

  it('a client that goes away stops its model requests', async () => {
    models.setFaults({ '*': { rate: 1, modes: ['slow'] } });
    const { url } = await serve(oracleConfig(models.url, ['a', 'b', 'c']), { requestTimeoutMs: 60_000 });
    const ctl = new AbortController();
    const pending = post(url, { texts: gold.slice(30, 60).map((d) => d.text) }, ctl.signal).catch(
      () => undefined,
    );
    await sleep(500);
    ctl.abort();
    const goneAt = Date.now();
    await pending;
    await sleep(1500);
    // (500 ms: the server learns of the closed socket asynchronously; without the abort the
    // requests of these 30 texts go on for seconds)
    const late = models.requests.filter((q) => (q.at ?? 0) > goneAt + 500);
    assert.equal(late.length, 0, `${late.length} model request(s) after the client left`);
    models.setFaults({});
  });

  it('/healthz answers while a request hangs on a model', async () => {
    models.setFaults({ '*': { rate: 1, modes: ['hang'] } });
    const { url } = await serve(oracleConfig(models.url, ['a']), { requestTimeoutMs: 5000 });
    const stuck = post(url, { text: gold[0].text });
    await sleep(200);
    const h = await fetch(`${url}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await J(h), { ok: true });
    models.setFaults({});
    assert.equal((await stuck).status, 504);
  });

  it('/readyz reflects a pool that cannot be read; no 5xx body shows a path or file contents', async () => {
    const pool = join(dir, 'pool.jsonl');
    symlinkSync('/etc/passwd', pool);
    const { url } = await serve(oracleConfig(models.url, ['a'], { pool }));
    await sleep(300);
    const ready = await fetch(`${url}/readyz`);
    const readyBody = await ready.text();
    assert.equal(ready.status, 503);
    assert.match(readyBody, /the method cannot be built/);
    const r = await post(url, { text: gold[0].text });
    const body = await r.text();
    assert.equal(r.status, 503);
    for (const b of [readyBody, body]) {
      assert.doesNotMatch(b, /root:|\/etc\/passwd|pool\.jsonl|el4ner-serve-faults/);
    }
    assert.ok(
      logs.some((l) => l.includes('pool.jsonl')),
      'the details are in the server log',
    );
  });

  it('/readyz reflects a CRF path that does not exist', async () => {
    const { url } = await serve(
      oracleConfig(models.url, ['a'], { fusion: { slm: join(dir, 'missing.crf'), voter: true } }),
    );
    await sleep(300);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    const j = await J(ready);
    assert.equal(j.files['fusion.slm'].ok, false);
    assert.doesNotMatch(JSON.stringify(j), /missing\.crf/);
  });

  it('credentials in baseUrl never reach a body, a warning or the log', async () => {
    const secret = 'pw-very-secret-42';
    const withCreds = models.url.replace('http://', `http://user:${secret}@`);
    const deadCreds = `http://user:${secret}@127.0.0.1:9/v1`;
    const config = oracleConfig(withCreds, ['a']);
    const dead = oracleConfig(deadCreds, ['dead']);
    config.models.push({ ...dead.models[0] });
    const { url } = await serve(config, { requestTimeoutMs: 20_000 });
    const r = await post(url, { text: gold[1].text });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    // the live model got the credentials as a header, the dead one is named without them
    const sent = models.requests.at(-1)?.headers?.authorization;
    assert.equal(sent, `Basic ${Buffer.from(`user:${secret}`).toString('base64')}`);
    const ready = await (await fetch(`${url}/readyz`)).text();
    for (const t of [text, ready, logs.join('\n')]) assert.ok(!t.includes(secret), t.slice(0, 400));
    // the dead model is named with its cause; its URL (an internal host) stays in the log
    assert.match(text, /model \\"dead\\" \(dead\): chat failed/);
    assert.doesNotMatch(text, /127\.0\.0\.1:9/);
    assert.ok(logs.some((l) => l.includes('127.0.0.1:9')));
  });

  it('without a token: a foreign Host is refused (DNS rebinding), cross-site GET /?text= too; CSP on the page', async () => {
    const { url } = await serve(oracleConfig(models.url, ['a']));
    const port = new URL(url).port;
    const evil = await rawGet(`${url}/healthz`, { host: `rebind.example:${port}` });
    assert.equal(evil.status, 403);
    assert.match(evil.body, /not allowed/);
    assert.equal((await rawGet(`${url}/healthz`, { host: `localhost:${port}` })).status, 200);
    const q = `/?text=${encodeURIComponent(gold[2].text)}`;
    const before = models.requests.length;
    const cross = await rawGet(`${url}${q}`, { host: `127.0.0.1:${port}`, 'sec-fetch-site': 'cross-site' });
    assert.equal(cross.status, 403);
    const referred = await rawGet(`${url}${q}`, {
      host: `127.0.0.1:${port}`,
      referer: 'https://evil.example/x',
    });
    assert.equal(referred.status, 403);
    assert.equal(models.requests.length, before, 'no model was asked for a cross-site request');
    const own = await rawGet(`${url}${q}`, { host: `127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' });
    assert.equal(own.status, 200);
    assert.match(String(own.headers['content-security-policy']), /default-src 'none'/);
    assert.match(own.body, /<form method="get"/);
  });

  it('with a token the Host check steps aside (the token protects)', async () => {
    const { url } = await serve(oracleConfig(models.url, ['a']), { token: 'tok-123456' });
    const port = new URL(url).port;
    const r = await rawGet(`${url}/healthz`, { host: `service.internal:${port}` });
    assert.equal(r.status, 200);
  });
});

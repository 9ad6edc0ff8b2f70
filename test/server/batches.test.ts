/**
 * `serve` (buildServer, with the methods createMethod assembles, as the command does) over real
 * HTTP: a batch or job with one document no model answers for keeps the others (rows flagged as
 * `el4ner run` writes them); method slots are keyed by normalised options, the least recently used
 * idle one is closed to make room; a CRF-only config refuses other labels and keeps answering
 * /healthz while it tags a long text; the bearer scheme is case-insensitive; a client that goes
 * away is counted as 499.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createMethod } from '../../src/assemble/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { Method } from '../../src/core/method.js';
import type { NerDocument } from '../../src/core/types.js';
import { buildServer, type ServerOptions } from '../../src/server/app.js';
import { trainCrf } from '../../src/slm/tagger.js';
import { sharedDocs } from '../fusion/helpers.js';
import { goldByText, oracleAnswer } from '../support/oracle.js';
import { oracleConfig, readGold, schemaName } from '../support/oracle-server.js';
import { type ScriptedServer, startScriptedServer } from '../support/scripted-server.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of the API under test
const J = (r: Response): Promise<any> => r.json();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const servers: FastifyInstance[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

/** The server as `serve` builds it; the methods come from createMethod, counted as they are built and closed. */
async function serve(config: Config, extra: Partial<ServerOptions> = {}) {
  const built: Config[] = [];
  let closed = 0;
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const app = await buildServer({
    config,
    log,
    requestTimeoutMs: 10_000,
    makeMethod: async (c) => {
      built.push(c);
      const m: Method = await createMethod(c, { log });
      return {
        ...m,
        close: async () => {
          closed++;
          await m.close();
        },
      };
    },
    ...extra,
  });
  servers.push(app);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal,
    });
  return { app, url, post, built, logs, closed: () => closed };
}

async function pollJob(url: string, id: string, headers: Record<string, string> = {}) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const job = await J(await fetch(`${url}/v1/ner/jobs/${id}`, { headers }));
    if (job.status === 'done' || job.status === 'failed' || Date.now() > deadline) return job;
    await sleep(50);
  }
}

describe('serve with LLMs: unanswered documents, method slots, auth, 499', () => {
  let gold: NerDocument[];
  let models: ScriptedServer;
  let hang = false;
  before(async () => {
    gold = readGold('conll2003', 'test', 40).filter((d) => d.entities.length > 0);
    const byText = goldByText(gold);
    models = await startScriptedServer({
      chat: (req) => {
        if (hang) return { hang: true };
        if (req.messages.some((m) => m.content.includes('POISON')))
          return { status: 400, errorBody: { error: { message: 'refused' } } };
        return { json: oracleAnswer(byText, {}, req.messages, schemaName(req)) };
      },
    });
  });
  after(async () => {
    await models.close();
  });

  it('a batch returns every document; the one no model answered for is flagged, as run writes it', async () => {
    const { post } = await serve(oracleConfig(models.url, ['a']));
    const r = await post('/v1/ner', { texts: [gold[0].text, 'POISON here', gold[1].text] });
    const body = await r.text();
    assert.equal(r.status, 200, body);
    const j = JSON.parse(body);
    assert.equal(j.results.length, 3);
    assert.equal(j.results[0].entities.length, gold[0].entities.length);
    assert.equal(j.results[0].degraded, undefined);
    assert.equal(j.results[2].entities.length, gold[1].entities.length);
    const bad = j.results[1];
    assert.equal(bad.text, 'POISON here');
    assert.deepEqual(bad.entities, []);
    assert.equal(bad.degraded, true);
    assert.match(bad.error, /no engine answered for document "2": a: /);
    assert.ok(bad.warnings.some((w: { kind: string }) => w.kind === 'unanswered'));
    // the models' URL (an internal host) is not shown to clients
    assert.ok(!body.includes(new URL(models.url).host), body);
  });

  it('a single text no model answered for stays a 503, its details without the model URL', async () => {
    const { post, logs } = await serve(oracleConfig(models.url, ['a']));
    const r = await post('/v1/ner', { text: 'POISON again' });
    const body = await r.text();
    assert.equal(r.status, 503, body);
    const j = JSON.parse(body);
    assert.match(j.error, /no engine answered/);
    assert.equal(j.details[0].model, 'a');
    assert.match(j.details[0].lastError, /model "a" \(a\): chat failed/);
    assert.ok(!body.includes(new URL(models.url).host), body);
    assert.ok(
      logs.some((l) => l.includes(new URL(models.url).host)),
      'the log keeps the URL',
    );
  });

  it('a job with one unanswered document finishes with every result, degraded and warnings kept', async () => {
    const { post, url } = await serve(oracleConfig(models.url, ['a']));
    const texts = [gold[2].text, gold[3].text, 'POISON in a job', gold[4].text];
    const r = await post('/v1/ner/jobs', { texts });
    assert.equal(r.status, 202);
    const job = await pollJob(url, (await J(r)).id);
    assert.equal(job.status, 'done', JSON.stringify(job));
    assert.equal(job.results.length, 4);
    assert.equal(job.results[0].entities.length, gold[2].entities.length);
    assert.equal(job.results[3].entities.length, gold[4].entities.length);
    assert.equal(job.results[2].degraded, true);
    assert.match(job.results[2].error, /no engine answered/);
    assert.ok(job.results[2].warnings.length > 0);
  });

  it('method slots: normalised keys; the least recently used idle method is closed to make room', async () => {
    const s = await serve(oracleConfig(models.url, ['a']));
    const text = gold[0].text;
    const ok = async (extra: Record<string, unknown>) => {
      const r = await s.post('/v1/ner', { text, ...extra });
      assert.equal(r.status, 200, await r.clone().text());
    };
    await ok({});
    await ok({ stages: {} });
    await ok({ labels: ['LOC', 'MISC', 'ORG', 'PER'] });
    await ok({ stages: { verification: true } });
    assert.equal(s.built.length, 1, 'no stages, {} and the config own values are the default method');
    await ok({ labels: ['PER', 'PER'] });
    await ok({ labels: ['PER'] });
    assert.equal(s.built.length, 2, 'a repeated label is the same label set');
    // 12 distinct label sets: more than the 8 slots, each answered, the older ones closed
    for (let i = 0; i < 12; i++) await ok({ labels: ['PER', `X${i}`] });
    assert.equal(s.built.length, 14);
    assert.equal(s.closed(), 14 - 8);
    // the default method was never closed: it answers without a new build
    await ok({});
    assert.equal(s.built.length, 14);
  });

  it('429 only while every slot has a request in flight', async () => {
    const s = await serve(oracleConfig(models.url, ['a']), { requestTimeoutMs: 1500 });
    hang = true;
    try {
      // the default method plus 7 others, each with a request hanging on the model
      const pending = Array.from({ length: 7 }, (_, i) =>
        s.post('/v1/ner', { text: gold[0].text, labels: ['PER', `Y${i}`] }),
      );
      await sleep(300);
      const busy = await s.post('/v1/ner', { text: gold[0].text, labels: ['PER', 'Z'] });
      assert.equal(busy.status, 429);
      assert.match((await J(busy)).error, /in use by requests in flight/);
      for (const r of await Promise.all(pending)) assert.equal(r.status, 504);
    } finally {
      hang = false;
    }
    // once those requests are over, their slots are idle and a new label set gets one
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await s.post('/v1/ner', { text: gold[0].text, labels: ['PER', 'Z'] })).status;
      if (status !== 200) await sleep(100);
    }
    assert.equal(status, 200);
  });

  it('the bearer scheme is case-insensitive', async () => {
    const s = await serve(oracleConfig(models.url, ['a']), { token: 's3cret' });
    for (const scheme of ['Bearer', 'bearer', 'BEARER'])
      assert.equal(
        (await s.post('/v1/ner', { text: gold[0].text }, { authorization: `${scheme} s3cret` })).status,
        200,
        scheme,
      );
    assert.equal((await s.post('/v1/ner', { text: 'x' }, { authorization: 'bearer wrong' })).status, 401);
    assert.equal((await s.post('/v1/ner', { text: 'x' }, { authorization: 'Basic s3cret' })).status, 401);
  });

  it('a client that goes away is counted in el4ner_http_requests_total as 499', async () => {
    const s = await serve(oracleConfig(models.url, ['a']));
    hang = true;
    try {
      const ctl = new AbortController();
      const gone = s.post('/v1/ner', { text: gold[0].text }, {}, ctl.signal).catch(() => undefined);
      await sleep(300);
      ctl.abort();
      await gone;
      let metrics = '';
      for (let i = 0; i < 40 && !metrics.includes('status="499"'); i++) {
        await sleep(50);
        metrics = await (await fetch(`${s.url}/metrics`)).text();
      }
      assert.match(metrics, /el4ner_http_requests_total\{route="\/v1\/ner",method="POST",status="499"\} 1/);
    } finally {
      hang = false;
    }
  });
});

describe('serve with a CRF alone', () => {
  let dir: string;
  let config: Config;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'el4ner-serve-crf-'));
    const crf = await trainCrf(sharedDocs('conll2003', 'train', 150), { maxIterations: 25 });
    await crf.save(join(dir, 'm.crf'));
    config = parseConfig({ fusion: { slm: join(dir, 'm.crf') } });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses labels it cannot tag (400), accepts its own set, and builds no method per request', async () => {
    const s = await serve(config);
    const r = await s.post('/v1/ner', { text: 'Peter Blackburn visited Germany .', labels: ['FOO'] });
    assert.equal(r.status, 400);
    assert.match((await J(r)).error, /fixed label set \(LOC, MISC, ORG, PER\) and cannot change it/);
    const own = await s.post('/v1/ner', {
      text: 'Peter Blackburn visited Germany .',
      labels: ['PER', 'LOC', 'ORG', 'MISC'],
    });
    assert.equal(own.status, 200);
    const st = await s.post('/v1/ner', {
      text: 'Peter Blackburn visited Germany .',
      stages: { verification: false },
    });
    assert.equal(st.status, 200);
    assert.equal(s.built.length, 1);
  });

  it('/healthz keeps answering while a long text is tagged', async () => {
    const s = await serve(config, { bodyLimit: 2 * 1024 * 1024 });
    const text = 'Peter Blackburn visited Germany . '.repeat(15_000);
    let bigDone = false;
    const big = s.post('/v1/ner', { text }).then(async (r) => {
      const j = await J(r);
      bigDone = true;
      return { status: r.status, j };
    });
    // probes one after another while the big request runs; before the fix none was answered
    // until the whole text was tagged
    let answeredWhileBusy = 0;
    await sleep(200);
    while (!bigDone) {
      const h = await fetch(`${s.url}/healthz`);
      assert.equal(h.status, 200);
      if (!bigDone) answeredWhileBusy++;
      await sleep(50);
    }
    const { status, j } = await big;
    assert.equal(status, 200);
    assert.equal(j.results[0].entities.filter((e: { type: string }) => e.type === 'PER').length > 0, true);
    for (const e of j.results[0].entities) assert.equal(text.slice(e.start, e.end), e.text);
    assert.ok(answeredWhileBusy >= 3, `only ${answeredWhileBusy} /healthz answered while tagging`);
  });
});

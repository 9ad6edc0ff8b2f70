/**
 * A model that is down for a moment does not park the documents a worker touches: calls refused by
 * an open circuit breaker are not attempts, and their batch waits the breaker's cooldown. Documents
 * that were parked (a model down for longer than their attempts last) get another chance with
 * `enqueue --retry-parked`. Real worker processes, a real redis-server, and a real HTTP model
 * server that is down (nothing listens on its port) and then comes up on the same port.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jobStatus } from '../../src/queue/status.js';
import { el4ner, el4nerAsync, tmpDir } from '../support/cli.js';
import { readGold, startOracleServer } from '../support/oracle-server.js';
import { freePort } from '../support/ports.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';
import type { ScriptedServer } from '../support/scripted-server.js';

let redis: TestRedis;
let dir: string;
const servers: ScriptedServer[] = [];
const run = `${process.pid}-${Date.now().toString(36)}`;
const gold = readGold('conll2003', 'test', 40);

/** A config whose one model is at 127.0.0.1:port: no retry inside a call, the default breaker (5 failures, 5 s). */
function configFor(port: number, name: string): string {
  const p = join(dir, `${name}.json`);
  writeFileSync(
    p,
    JSON.stringify({
      models: [
        {
          name: 'a',
          engine: 'openai',
          baseUrl: `http://127.0.0.1:${port}/v1`,
          model: 'a',
          maxAttempts: 1,
          timeoutMs: 5000,
        },
      ],
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      stages: { verification: false },
      concurrency: 4,
      cache: { enabled: false },
    }),
  );
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  redis = await startTestRedis();
  dir = tmpDir('el4ner-outage-');
  writeFileSync(
    join(dir, 'input.jsonl'),
    `${gold.map((d) => JSON.stringify({ id: d.id, text: d.text })).join('\n')}\n`,
  );
});
after(async () => {
  for (const s of servers) await s.close();
  await redis?.stop();
});

test('a model down for a few seconds while a worker runs parks nothing; every document is tagged once it is back', {
  timeout: 180_000,
}, async () => {
  const port = await freePort();
  const config = configFor(port, 'short');
  const job = `short-${run}`;
  const queue = `q-${job}`;
  const q = ['--redis', redis.url, '--queue', queue];
  const e = el4ner(['enqueue', ...q, '--input', join(dir, 'input.jsonl'), '--job', job, '--batch', '10']);
  assert.equal(e.code, 0, e.stderr);
  const worker = el4nerAsync(['worker', ...q, '--config', config, '--no-preflight', '--idle-exit', '3']);
  // the worker has met the dead model once a batch waits for a retry (or a document is parked)
  let during = await jobStatus(redis.url, job, queue);
  for (let i = 0; i < 300 && !during.batches.delayed && !during.parked; i++) {
    await sleep(100);
    during = await jobStatus(redis.url, job, queue);
  }
  assert.ok(during.batches.delayed || during.parked, 'the worker met the dead model');
  await sleep(2500);
  // nothing parked while the model was down (before the fix, every document was by now)
  during = await jobStatus(redis.url, job, queue);
  assert.equal(during.parked, 0);
  assert.equal(during.done, 0);
  const server = await startOracleServer(gold, {}, undefined, port);
  servers.push(server);
  const w = await worker;
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stderr, /put off for \d+ s, not counted as attempts/);
  assert.match(w.stderr, /done: 40 documents, \d+ failures, 0 parked/);
  const s = await jobStatus(redis.url, job, queue);
  assert.deepEqual([s.done, s.parked, s.remaining], [40, 0, 0]);
  assert.ok(server.requests.length >= 40, 'the model tagged the documents');
});

test('enqueue --retry-parked gives parked documents fresh attempts; status and collect follow', {
  timeout: 180_000,
}, async () => {
  const port = await freePort();
  const config = configFor(port, 'long');
  const job = `parked-${run}`;
  const queue = `q-${job}`;
  const q = ['--redis', redis.url, '--queue', queue];
  const enqueue = ['enqueue', ...q, '--input', join(dir, 'input.jsonl'), '--job', job, '--batch', '10'];
  // one attempt per document: the calls that met the dead model before its breaker opened park theirs
  assert.equal(el4ner([...enqueue, '--attempts', '1']).code, 0);
  const worker = el4nerAsync(['worker', ...q, '--config', config, '--no-preflight', '--idle-exit', '3']);
  let s = await jobStatus(redis.url, job, queue);
  for (let i = 0; i < 100 && s.parked === 0; i++) {
    await sleep(100);
    s = await jobStatus(redis.url, job, queue);
  }
  assert.ok(s.parked > 0, 'some documents met the dead model');
  const server = await startOracleServer(gold, {}, undefined, port);
  servers.push(server);
  const w1 = await worker;
  assert.equal(w1.code, 0, w1.stderr);
  // calls in flight when the first document was parked may park a few more: count at the end
  s = await jobStatus(redis.url, job, queue);
  const parked = s.parked;
  assert.ok(parked < 40, `the breaker kept the others from burning their attempt (${parked} parked)`);
  assert.deepEqual([s.done, s.parked, s.remaining], [40 - parked, parked, 0]);
  const out1 = join(dir, 'parked-1.jsonl');
  assert.equal(el4ner(['collect', '--redis', redis.url, '--job', job, '--output', out1]).code, 0);
  const errors1 = readFileSync(out1, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => JSON.parse(l).error);
  assert.equal(errors1.length, parked);

  const r = el4ner([...enqueue, '--attempts', '1', '--retry-parked']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`moved ${parked} parked document\\(s\\) of job "${job}" back to pending`),
  );
  s = await jobStatus(redis.url, job, queue);
  assert.deepEqual([s.done, s.parked, s.remaining], [40 - parked, 0, parked]);
  const early = el4ner(['collect', '--redis', redis.url, '--job', job, '--output', join(dir, 'early.jsonl')]);
  assert.equal(early.code, 5, 'the retried documents are not finished yet');

  const w2 = await el4nerAsync(['worker', ...q, '--config', config, '--idle-exit', '2']);
  assert.equal(w2.code, 0, w2.stderr);
  assert.match(w2.stderr, new RegExp(`done: ${parked} documents, 0 failures, 0 parked`));
  s = await jobStatus(redis.url, job, queue);
  assert.deepEqual([s.done, s.parked, s.remaining], [40, 0, 0]);
  const out2 = join(dir, 'parked-2.jsonl');
  assert.equal(el4ner(['collect', '--redis', redis.url, '--job', job, '--output', out2]).code, 0);
  const rows = readFileSync(out2, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    rows.map((x) => x.id),
    gold.map((d) => d.id),
  );
  assert.equal(rows.filter((x) => x.error || x.degraded).length, 0, 'no row is left without an answer');
  // a second --retry-parked with nothing parked moves nothing
  const none = el4ner([...enqueue, '--attempts', '1', '--retry-parked']);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stderr, /moved 0 parked/);
});

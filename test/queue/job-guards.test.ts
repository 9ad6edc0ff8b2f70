/**
 * A job name belongs to one input and, once results are stored, to one config: enqueueing other
 * documents under a taken name, or starting a worker with another config, is refused (exit 3) and
 * changes nothing; enqueueing the same input again stays harmless. A bad job name is a
 * command-line error (exit 2). All through the real command line, on a real redis-server.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { jobKeys } from '../../src/queue/keys.js';
import { conllLines, el4ner, el4nerAsync, tmpDir, trainSmallCrf } from '../support/cli.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
let admin: Redis;
let dir: string;
let config: string;
let inputA: string;
let inputB: string;
const run = `${process.pid}-${Date.now().toString(36)}`;

before(async () => {
  redis = await startTestRedis();
  admin = new Redis(redis.url);
  dir = tmpDir('el4ner-job-guards-');
  config = join(dir, 'offline.json');
  writeFileSync(config, JSON.stringify({ fusion: { slm: trainSmallCrf() } }));
  const lines = conllLines('test', 60);
  inputA = join(dir, 'a.jsonl');
  inputB = join(dir, 'b.jsonl');
  writeFileSync(inputA, `${lines.slice(0, 30).join('\n')}\n`);
  writeFileSync(inputB, `${lines.slice(30, 60).join('\n')}\n`);
});
after(async () => {
  admin?.disconnect();
  await redis?.stop();
});

const ids = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).id as string);

test('another input under a taken job name is refused (exit 3), before and after the job is processed; the same input again is harmless', {
  timeout: 180_000,
}, async () => {
  const queue = `q-guard-${run}`;
  const q = ['--redis', redis.url, '--queue', queue];
  for (const processed of [false, true]) {
    const job = `guard-${processed ? 'done' : 'fresh'}-${run}`;
    const e = el4ner(['enqueue', ...q, '--input', inputA, '--job', job, '--batch', '10']);
    assert.equal(e.code, 0, e.stderr);
    if (processed) {
      const w = await el4nerAsync(['worker', ...q, '--config', config, '--idle-exit', '2']);
      assert.equal(w.code, 0, w.stderr);
    }
    const meta = await admin.hgetall(jobKeys(job).meta);
    assert.match(meta.input, /^[0-9a-f]{64}$/);

    // other documents, same count: refused, names the job and the way out, changes nothing
    const other = el4ner(['enqueue', ...q, '--input', inputB, '--job', job, '--batch', '10']);
    assert.equal(other.code, 3, other.stderr);
    assert.match(other.stderr, new RegExp(`job "${job}" already exists with another input`));
    assert.match(other.stderr, /new --job name/);
    // the same input in other batches: refused too (its batch ids would differ)
    const batch = el4ner(['enqueue', ...q, '--input', inputA, '--job', job, '--batch', '7']);
    assert.equal(batch.code, 3, batch.stderr);
    assert.match(batch.stderr, /batches of 10 \(--batch 7 now/);
    assert.deepEqual(await admin.hgetall(jobKeys(job).meta), meta, 'a refused enqueue leaves the meta');

    // the same input again: accepted, nothing twice
    const again = el4ner(['enqueue', ...q, '--input', inputA, '--job', job, '--batch', '10']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already holds this input \(30 documents\)/);

    const w = await el4nerAsync(['worker', ...q, '--config', config, '--idle-exit', '2']);
    assert.equal(w.code, 0, w.stderr);
    const out = join(dir, `${job}.jsonl`);
    const c = el4ner(['collect', '--redis', redis.url, '--job', job, '--output', out]);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(ids(out), ids(inputA), 'the job holds the documents of its first input');
  }
});

test('a worker with another config than the one that produced the results is refused (exit 3), and the batch waits for the right one', {
  timeout: 180_000,
}, async () => {
  const queue = `q-config-${run}`;
  const job = `config-${run}`;
  const q = ['--redis', redis.url, '--queue', queue];
  assert.equal(el4ner(['enqueue', ...q, '--input', inputA, '--job', job, '--batch', '10']).code, 0);
  const first = await el4nerAsync(['worker', ...q, '--config', config, '--idle-exit', '2']);
  assert.equal(first.code, 0, first.stderr);
  const out1 = join(dir, 'config-1.jsonl');
  assert.equal(el4ner(['collect', '--redis', redis.url, '--job', job, '--output', out1]).code, 0);

  // the same input again puts its batches back on the queue (they were removed when completed)
  assert.equal(el4ner(['enqueue', ...q, '--input', inputA, '--job', job, '--batch', '10']).code, 0);
  const otherConfig = join(dir, 'other.json');
  writeFileSync(otherConfig, JSON.stringify({ fusion: { slm: trainSmallCrf() }, maxChars: 1000 }));
  const other = await el4nerAsync(['worker', ...q, '--config', otherConfig, '--idle-exit', '2']);
  assert.equal(other.code, 3, other.stderr);
  assert.match(other.stderr, new RegExp(`job "${job}" has results from another configuration`));
  assert.match(other.stderr, /maxChars differ/);
  assert.match(other.stderr, /done: 0 documents/);

  // the refused batch is still queued: the first config's worker takes it (and has nothing to redo)
  const right = await el4nerAsync(['worker', ...q, '--config', config, '--idle-exit', '2']);
  assert.equal(right.code, 0, right.stderr);
  const out2 = join(dir, 'config-2.jsonl');
  assert.equal(el4ner(['collect', '--redis', redis.url, '--job', job, '--output', out2]).code, 0);
  assert.equal(readFileSync(out2, 'utf8'), readFileSync(out1, 'utf8'));
  const status = el4ner(['status', '--redis', redis.url, '--job', job, '--queue', queue, '--json']);
  const s = JSON.parse(status.stdout);
  assert.equal(s.batches.waiting + s.batches.delayed + s.batches.active, 0, 'no batch left behind');
});

test('a bad job name is a command-line error (exit 2) for every queue command', () => {
  const common = ['--redis', redis.url, '--job', 'bad name'];
  const cases = [
    ['enqueue', ...common, '--input', inputA],
    ['status', ...common],
    ['collect', ...common, '--output', join(dir, 'bad.jsonl')],
  ];
  for (const args of cases) {
    const r = el4ner(args);
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /job name "bad name" must be 1-100 letters/);
  }
});

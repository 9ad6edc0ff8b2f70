/**
 * `el4ner collect` as a user meets it, through the real command line on a real redis-server:
 * `--output -` is stdout as for `el4ner run` (and, as `run`, no table of model calls for a CRF-only
 * config), an empty input gives an empty job that collects to
 * an empty file (as `run` writes one), and a --redis that is not a Redis URL is a command-line
 * error for every queue command.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { conllLines, el4ner, el4nerAsync, hasStack, tmpDir, trainSmallCrf } from '../support/cli.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
let dir: string;
let config: string;
const run = `${process.pid}-${Date.now().toString(36)}`;

before(async () => {
  redis = await startTestRedis();
  dir = tmpDir('el4ner-collect-');
  config = join(dir, 'offline.json');
  writeFileSync(config, JSON.stringify({ fusion: { slm: trainSmallCrf() } }));
});
after(async () => {
  await redis?.stop();
});

/** enqueue, one worker until the queue is empty: the job is done. */
async function processJob(input: string, job: string, queue: string): Promise<void> {
  const e = el4ner(['enqueue', '--redis', redis.url, '--queue', queue, '--input', input, '--job', job]);
  assert.equal(e.code, 0, e.stderr);
  const w = await el4nerAsync([
    'worker',
    '--redis',
    redis.url,
    '--queue',
    queue,
    '--config',
    config,
    '--idle-exit',
    '1',
  ]);
  assert.equal(w.code, 0, w.stderr);
}

test('collect --output - writes the rows to stdout (as run does), no file named "-"', {
  timeout: 180_000,
}, async () => {
  const input = join(dir, 'docs.jsonl');
  writeFileSync(input, `${conllLines('test', 12).join('\n')}\n`);
  const job = `stdout-${run}`;
  await processJob(input, job, `q-stdout-${run}`);
  const ran = el4ner(['run', '--config', config, '--input', input, '--output', '-']);
  assert.equal(ran.code, 0, ran.stderr);
  const cwd = tmpDir('el4ner-collect-cwd-');
  const c = el4ner(['collect', '--redis', redis.url, '--job', job, '--output', '-'], { cwd });
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, ran.stdout);
  assert.equal(c.stdout.trim().split('\n').length, 12);
  assert.equal(existsSync(join(cwd, '-')), false, 'a file named "-" was written');
  assert.match(c.stderr, /wrote 12 documents to stdout/);
  // a CRF-only config asks no model: no table of zero calls, as `run` prints none
  assert.doesNotMatch(ran.stderr, /response cache:/);
  assert.doesNotMatch(c.stderr, /cost over|response cache:|calls/);
  assert.equal(c.stderr.trim().split('\n').length, 1, c.stderr);
});

test('an empty input is an empty job: status 0/0, collect writes an empty file like run', {
  timeout: 120_000,
}, async () => {
  const input = join(dir, 'empty.jsonl');
  writeFileSync(input, '');
  const ran = el4ner(['run', '--config', config, '--input', input, '--output', join(dir, 'empty-run.jsonl')]);
  assert.equal(ran.code, 0, ran.stderr);
  const job = `empty-${run}`;
  await processJob(input, job, `q-empty-${run}`);
  const s = el4ner(['status', '--redis', redis.url, '--job', job]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /0\/0 done/);
  const out = join(dir, 'empty-col.jsonl');
  writeFileSync(out, 'an older file\n');
  const c = el4ner(['collect', '--redis', redis.url, '--job', job, '--output', out]);
  assert.equal(c.code, 0, c.stderr);
  assert.doesNotMatch(c.stderr, /no job named/);
  assert.equal(readFileSync(out, 'utf8'), readFileSync(join(dir, 'empty-run.jsonl'), 'utf8'));
  assert.equal(readFileSync(out, 'utf8'), '');
});

test('a --redis that is not a Redis URL is a command-line error (exit 2) naming what to give', () => {
  const input = join(dir, 'one.jsonl');
  writeFileSync(input, `${conllLines('test', 1).join('\n')}\n`);
  const bad = 'http://user:secret@127.0.0.1:6379/';
  for (const args of [
    ['enqueue', '--input', input, '--job', 'x'],
    ['status', '--job', 'x'],
    ['collect', '--job', 'x', '--output', join(dir, 'x.jsonl')],
    ['worker', '--config', config, '--no-preflight'],
  ]) {
    const r = el4ner([...args, '--redis', bad], { timeoutMs: 60_000 });
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /not a Redis URL/, r.stderr);
    assert.match(r.stderr, /redis:\/\/host:port/, r.stderr);
    assert.doesNotMatch(r.stderr, /secret/);
    assert.equal(hasStack(r.stderr), false);
  }
});

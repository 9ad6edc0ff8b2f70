/**
 * A Redis that crashes and comes back from an older snapshot has lost the job and the results the
 * workers stored. The worker notices (it checks what it stored), says so with the way out
 * (`appendonly yes`) and exits non-zero instead of reporting the documents done.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { jobKeys } from '../../src/queue/keys.js';
import { conllLines, el4ner, el4nerAsync, tmpDir, trainSmallCrf } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { startRedisServer } from '../support/redis.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** redis-server with snapshots in `dir` and no append-only file: what a default install does. */
async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = await startRedisServer(port, ['--dir', dir, '--dbfilename', 'dump.rdb']);
  children.push(child);
  return child;
}

test('a Redis restored from an old snapshot: the worker reports the lost job and exits 5', {
  timeout: 120_000,
}, async () => {
  const dir = tmpDir('el4ner-redis-lost-');
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server = await startRedis(port, dir);
  const admin = new Redis(url);
  admin.on('error', () => {});
  await admin.save(); // the snapshot Redis will come back from: no job yet

  const crf = trainSmallCrf();
  const config = join(dir, 'offline.json');
  writeFileSync(config, JSON.stringify({ fusion: { slm: crf } }));
  const input = join(dir, 'docs.jsonl');
  writeFileSync(input, `${conllLines('test', 30).join('\n')}\n`);
  const e = el4ner(['enqueue', '--redis', url, '--input', input, '--job', 'lost1', '--batch', '10']);
  assert.equal(e.code, 0, e.stderr);

  const worker = el4nerAsync(['worker', '--redis', url, '--config', config, '--idle-exit', '6']);
  const deadline = Date.now() + 60_000;
  while ((await admin.hlen(jobKeys('lost1').results)) < 30 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  assert.equal(await admin.hlen(jobKeys('lost1').results), 30, 'the worker finished the job');
  admin.disconnect();

  // crash, and come back from the snapshot taken before the job existed
  server.kill('SIGKILL');
  await new Promise((r) => server.once('exit', r));
  server = await startRedis(port, dir);

  const w = await worker;
  assert.equal(w.code, 5, w.stderr);
  assert.match(
    w.stderr,
    /Redis lost 30 of the 30 document\(s\) this worker finished for job "lost1" and the job itself/,
  );
  assert.match(w.stderr, /el4ner: Redis lost 30 finished document\(s\) of job "lost1".*appendonly yes/);

  const s = el4ner(['status', '--redis', url, '--job', 'lost1']);
  assert.equal(s.code, 5);
  assert.match(s.stderr, /no job named "lost1" on this Redis .*Redis lost it.*appendonly yes/);
  server.kill('SIGKILL');
});

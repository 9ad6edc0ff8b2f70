/**
 * A worker whose Redis goes away mid-job, through the real command line: it says so once (not a
 * line every half second while Redis is down), and Ctrl-C still stops it, with the documented exit
 * code 5 and one line saying the finished documents could not be confirmed, instead of hanging.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { jobKeys } from '../../src/queue/keys.js';
import { bin, conllLines, el4ner, hasStack, repoRoot, tmpDir, trainSmallCrf } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { startRedisServer } from '../support/redis.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 60_000) => {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

test('Redis down mid-job: the worker says so once, and Ctrl-C stops it with exit 5', {
  timeout: 240_000,
}, async () => {
  const dir = tmpDir('el4ner-worker-outage-');
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const server = await startRedisServer(port);
  children.push(server);
  const config = join(dir, 'offline.json');
  writeFileSync(config, JSON.stringify({ fusion: { slm: trainSmallCrf() } }));
  const input = join(dir, 'docs.jsonl');
  // enough batches that the worker is still busy when Redis goes away
  writeFileSync(input, `${conllLines('train', 4000).join('\n')}\n`);
  const e = el4ner(['enqueue', '--redis', url, '--input', input, '--job', 'out1', '--batch', '20']);
  assert.equal(e.code, 0, e.stderr);

  const worker = spawn(process.execPath, [bin, 'worker', '--redis', url, '--config', config], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(worker);
  let stderr = '';
  worker.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));

  const admin = new Redis(url);
  admin.on('error', () => {});
  await until('the first finished documents', async () => (await admin.hlen(jobKeys('out1').results)) > 0);
  admin.disconnect();
  server.kill('SIGKILL');
  await new Promise((r) => server.once('exit', r));

  // Redis stays down: the worker notices, and goes on noticing for a while
  await until('the worker to notice', () => /ECONNREFUSED/.test(stderr));
  await new Promise((r) => setTimeout(r, 6000));
  const outageLines = stderr.split('\n').filter((l) => /ECONNREFUSED/.test(l));
  assert.ok(outageLines.length <= 2, `one line per outage, not ${outageLines.length}:\n${stderr}`);
  assert.match(stderr, /Redis at redis:\/\/127\.0\.0\.1:\d+\/? .*unreachable/i);

  worker.kill('SIGINT');
  let code: number | null | 'still running' = 'still running';
  await Promise.race([
    exited.then((c) => {
      code = c;
    }),
    new Promise((r) => setTimeout(r, 90_000)),
  ]);
  assert.equal(code, 5, `the worker did not stop on Ctrl-C while Redis was down:\n${stderr}`);
  assert.match(stderr, /el4ner: .*Redis .*unreachable.*cannot confirm/);
  assert.match(stderr, /--lock-ms/);
  assert.equal(hasStack(stderr), false, stderr);
});

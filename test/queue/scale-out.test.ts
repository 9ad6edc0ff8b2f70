/**
 * The scale-out acceptance test: 5,000 documents, three worker processes on the real CLI, one killed
 * with SIGKILL mid-run and replaced; the collected output holds every document exactly once and
 * equals a single-process `el4ner run` of the same input.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { jobStatus } from '../../src/queue/status.js';
import { readGold, repoRoot, startOracleServer } from '../support/oracle-server.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';
import type { ScriptedServer } from '../support/scripted-server.js';

const N = 5000;
const cli = join(repoRoot, 'bin', 'el4ner.js');
let redis: TestRedis;
let backend: ScriptedServer;
let dir: string;
const children: ChildProcess[] = [];

function el4ner(args: string[]): ChildProcess {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
    if (err.length > 20_000) err = err.slice(-10_000);
  });
  (child as ChildProcess & { errText: () => string }).errText = () => err;
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

async function runToEnd(args: string[]): Promise<string> {
  const c = el4ner(args);
  const code = await exited(c);
  const err = (c as ChildProcess & { errText: () => string }).errText();
  assert.equal(code, 0, `el4ner ${args[0]} failed: ${err}`);
  return err;
}

before(async () => {
  redis = await startTestRedis();
  const gold = readGold('conll2003', 'test', 400);
  backend = await startOracleServer(gold);
  dir = mkdtempSync(join(tmpdir(), 'el4ner-scale-'));
  const rows = Array.from({ length: N }, (_, i) =>
    JSON.stringify({ id: `doc-${i}`, text: gold[i % gold.length].text }),
  );
  writeFileSync(join(dir, 'input.jsonl'), `${rows.join('\n')}\n`);
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      models: [
        {
          name: 'a',
          engine: 'openai',
          baseUrl: backend.url,
          model: 'a',
          maxAttempts: 3,
          timeoutMs: 10000,
          concurrency: 16,
        },
      ],
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      stages: { verification: false },
      concurrency: 16,
      cache: { enabled: false },
    }),
  );
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await backend?.close();
  await redis?.stop();
});

test('5,000 documents, 3 workers, one killed mid-run: every document exactly once, same as one process', {
  timeout: 600_000,
}, async () => {
  const config = join(dir, 'config.json');
  const queue = `scale-${process.pid}`;
  // unique per run: a Redis kept between runs still holds the jobs of earlier ones
  const job = `big-${Date.now().toString(36)}`;
  await runToEnd([
    'enqueue',
    '--redis',
    redis.url,
    '--input',
    join(dir, 'input.jsonl'),
    '--job',
    job,
    '--queue',
    queue,
    '--batch',
    '25',
  ]);
  const workerArgs = [
    'worker',
    '--redis',
    redis.url,
    '--config',
    config,
    '--queue',
    queue,
    '--lock-ms',
    '2000',
    '--idle-exit',
    '4',
    '--no-cache',
  ];
  const workers = [el4ner(workerArgs), el4ner(workerArgs), el4ner(workerArgs)];
  const deadline = Date.now() + 400_000;
  let s = await jobStatus(redis.url, job, queue).catch(() => undefined);
  while ((s?.done ?? 0) < N * 0.3 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    s = await jobStatus(redis.url, job, queue);
  }
  assert.ok(s && s.done < N, `the kill should come mid-run (done ${s?.done})`);
  workers[0].kill('SIGKILL');
  workers.push(el4ner(workerArgs));
  const codes = await Promise.all(workers.slice(1).map(exited));
  assert.deepEqual(codes, [0, 0, 0]);
  const final = await jobStatus(redis.url, job, queue);
  assert.equal(final.done, N);
  assert.equal(final.parked, 0);

  const out = join(dir, 'collected.jsonl');
  const collected = await runToEnd(['collect', '--redis', redis.url, '--job', job, '--output', out]);
  // the cost of every worker that reported (the killed one included, up to its last batch), added up
  const m = /cost over (\d) worker\(s\)\n[\s\S]*?total\s+(\d+)/.exec(collected);
  assert.ok(m, collected);
  assert.ok(Number(m[1]) >= 3 && Number(m[2]) >= N, `aggregated calls ${m[2]} over ${m[1]} workers`);
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(rows.length, N);
  assert.deepEqual(
    rows.map((r) => r.id),
    Array.from({ length: N }, (_, i) => `doc-${i}`),
  );

  const single = join(dir, 'single.jsonl');
  await runToEnd([
    'run',
    '--config',
    config,
    '--input',
    join(dir, 'input.jsonl'),
    '--output',
    single,
    '--no-cache',
  ]);
  const byId = new Map(
    readFileSync(single, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .map((r) => [r.id, r]),
  );
  assert.equal(byId.size, N);
  let entities = 0;
  for (const r of rows) {
    const one = byId.get(r.id);
    assert.deepEqual(r.entities, one.entities, `document ${r.id} differs from the single-process run`);
    entities += r.entities.length;
  }
  assert.ok(entities > N, 'the scripted backbone finds entities');
});

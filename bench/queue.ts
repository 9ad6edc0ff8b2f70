/**
 * Scale-out throughput: documents per second with 1, 2 and 4 queue workers (real `el4ner worker`
 * processes over a real redis-server) against a scripted OpenAI-compatible backend with a fixed
 * simulated latency per call. The backend is latency-bound, as real GPU servers are for one client:
 * more workers keep more requests in flight.
 *
 *   node --import tsx bench/queue.ts [--docs 400] [--latency 50] [--workers 1,2,4] [--concurrency 4]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enqueueDocuments } from '../src/queue/enqueue.js';
import { jobStatus } from '../src/queue/status.js';
import { goldByText, oracleAnswer } from '../test/support/oracle.js';
import { readGold, repoRoot, schemaName } from '../test/support/oracle-server.js';
import { startTestRedis } from '../test/support/redis.js';
import { startScriptedServer } from '../test/support/scripted-server.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const DOCS = Number(arg('docs', '400'));
const LATENCY = Number(arg('latency', '50'));
const WORKERS = arg('workers', '1,2,4').split(',').map(Number);
const CONCURRENCY = Number(arg('concurrency', '4'));

const gold = readGold('conll2003', 'test', 300);
const byText = goldByText(gold);
const backend = await startScriptedServer({
  chat: (req) => ({ json: oracleAnswer(byText, {}, req.messages, schemaName(req)), delayMs: LATENCY }),
});
const redis = await startTestRedis();
const dir = mkdtempSync(join(tmpdir(), 'el4ner-bench-queue-'));
const config = join(dir, 'config.json');
writeFileSync(
  config,
  JSON.stringify({
    models: [{ name: 'a', engine: 'openai', baseUrl: backend.url, model: 'a', concurrency: 64 }],
    labels: ['LOC', 'MISC', 'ORG', 'PER'],
    stages: { verification: false },
    concurrency: CONCURRENCY,
    cache: { enabled: false },
  }),
);

const rows: string[] = [];
try {
  for (const w of WORKERS) {
    const queue = `bench-${w}-${Date.now()}`;
    const docs = Array.from({ length: DOCS }, (_, i) => ({
      id: `b${i}`,
      text: gold[i % gold.length].text,
      entities: [],
    }));
    const workers: ChildProcess[] = [];
    for (let i = 0; i < w; i++) {
      workers.push(
        spawn(
          process.execPath,
          [
            join(repoRoot, 'bin', 'el4ner.js'),
            'worker',
            '--redis',
            redis.url,
            '--config',
            config,
            '--queue',
            queue,
            '--idle-exit',
            '2',
            '--no-cache',
          ],
          {
            stdio: 'ignore',
          },
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 2500)); // worker start-up is not part of the rate
    const t0 = Date.now();
    await enqueueDocuments(docs, { redis: redis.url, job: queue, queue, batchSize: 10 });
    let s = await jobStatus(redis.url, queue, queue);
    while (s.done + s.parked < DOCS) {
      await new Promise((r) => setTimeout(r, 50));
      s = await jobStatus(redis.url, queue, queue);
    }
    const seconds = (Date.now() - t0) / 1000;
    await Promise.all(
      workers.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
    );
    rows.push(`| ${w} | ${DOCS} | ${seconds.toFixed(1)} | ${(DOCS / seconds).toFixed(1)} |`);
    process.stderr.write(`${w} worker(s): ${(DOCS / seconds).toFixed(1)} documents/s\n`);
  }
} finally {
  await backend.close();
  await redis.stop();
}
console.log(
  `\nQueue throughput: ${LATENCY} ms simulated latency per LLM call, 2 calls per document, ${CONCURRENCY} documents in flight per worker\n`,
);
console.log('| workers | documents | seconds | documents/s |');
console.log('| ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);

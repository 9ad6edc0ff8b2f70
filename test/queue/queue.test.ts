import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { NerDocument } from '../../src/core/types.js';
import { collectJob } from '../../src/queue/collect.js';
import { enqueueDocuments } from '../../src/queue/enqueue.js';
import { jobStatus } from '../../src/queue/status.js';
import { type DocumentProcessor, runWorker } from '../../src/queue/worker.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
/** Job names unique to this run: a Redis kept between runs still holds the jobs of earlier ones. */
const run = Date.now().toString(36);
const job = (name: string) => `${name}-${run}`;
before(async () => {
  redis = await startTestRedis();
});
after(async () => {
  await redis.stop();
});

/** Deterministic stand-in for the pipeline: capitalised words are entities. */
function capitalised(failIds: Set<string> = new Set(), calls?: Map<string, number>): DocumentProcessor {
  let n = 0;
  return {
    async process(doc) {
      calls?.set(doc.id, (calls.get(doc.id) ?? 0) + 1);
      if (failIds.has(doc.id)) throw new Error(`cannot process ${doc.id}`);
      n++;
      const entities = [...doc.text.matchAll(/\b[A-Z][a-z]+\b/g)].map((m) => ({
        start: m.index ?? 0,
        end: (m.index ?? 0) + m[0].length,
        type: 'CAP',
        text: m[0],
      }));
      return { id: doc.id, text: doc.text, entities };
    },
    costs: () => ({ total: { calls: n } }),
  };
}

const docs = (n: number, prefix = 'd'): NerDocument[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    text: `Doc ${i} mentions Paris and rome`,
    entities: [],
  }));

test('two workers process a job; collect writes every document once in input order', async () => {
  const input = docs(230);
  const queue = `q-${Date.now()}`;
  const r = await enqueueDocuments(input, { redis: redis.url, job: job('two'), queue, batchSize: 20 });
  assert.deepEqual(r, { job: job('two'), documents: 230, batches: 12, existed: false });
  // enqueueing again is idempotent
  const again = await enqueueDocuments(input, { redis: redis.url, job: job('two'), queue, batchSize: 20 });
  assert.equal(again.existed, true);
  const w1 = await runWorker({
    redis: redis.url,
    queue,
    processor: capitalised(),
    idleExitMs: 800,
    workerId: 'w1',
  });
  const w2 = await runWorker({
    redis: redis.url,
    queue,
    processor: capitalised(),
    idleExitMs: 800,
    workerId: 'w2',
  });
  await Promise.all([w1.done, w2.done]);
  assert.equal(w1.stats.documents + w2.stats.documents, 230);
  const status = await jobStatus(redis.url, job('two'), queue);
  assert.equal(status.done, 230);
  assert.equal(status.remaining, 0);
  assert.deepEqual(
    Object.keys(status.workers).sort(),
    ['w1', 'w2'].filter((w) => (w === 'w1' ? w1 : w2).stats.documents > 0),
  );
  const out = join(mkdtempSync(join(tmpdir(), 'el4ner-q-')), 'out.jsonl');
  const c = await collectJob(redis.url, job('two'), out);
  assert.deepEqual(c, { written: 230, parked: 0, missing: 0 });
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    rows.map((x) => x.id),
    input.map((d) => d.id),
  );
  assert.deepEqual(
    rows[3].entities.map((e: { text: string }) => e.text),
    ['Doc', 'Paris'],
  );
});

test('a document failing every attempt is parked with its error, not lost', async () => {
  const queue = `q-${Date.now()}-p`;
  const calls = new Map<string, number>();
  await enqueueDocuments(docs(10, 'p'), {
    redis: redis.url,
    job: job('park'),
    queue,
    batchSize: 5,
    maxAttempts: 3,
  });
  const w = await runWorker({
    redis: redis.url,
    queue,
    processor: capitalised(new Set(['p7']), calls),
    idleExitMs: 1500,
  });
  await w.done;
  assert.equal(calls.get('p7'), 3);
  assert.equal(calls.get('p6'), 1, 'finished documents of a retried batch are not redone');
  const out = join(mkdtempSync(join(tmpdir(), 'el4ner-q-')), 'out.jsonl');
  const c = await collectJob(redis.url, job('park'), out);
  assert.deepEqual(c, { written: 10, parked: 1, missing: 0 });
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(rows[7].id, 'p7');
  assert.equal(rows[7].text, 'Doc 7 mentions Paris and rome', 'a parked row keeps its text');
  assert.deepEqual(rows[7].entities, []);
  assert.match(rows[7].error, /cannot process p7/);
  // the parked row keeps its text (a row of the output like the others) and says it is degraded
  assert.equal(rows[7].text, docs(10, 'p')[7].text);
  assert.equal(rows[7].degraded, true);
});

test('collect refuses an unfinished job unless --partial; unknown jobs are errors', async () => {
  const queue = `q-${Date.now()}-u`;
  await enqueueDocuments(docs(4, 'u'), { redis: redis.url, job: job('unfinished'), queue });
  const out = join(mkdtempSync(join(tmpdir(), 'el4ner-q-')), 'out.jsonl');
  await assert.rejects(collectJob(redis.url, job('unfinished'), out), /4 of 4 documents .* not finished/);
  assert.deepEqual(await collectJob(redis.url, job('unfinished'), out, { partial: true }), {
    written: 0,
    parked: 0,
    missing: 4,
  });
  await assert.rejects(jobStatus(redis.url, 'nope', queue), /no job named "nope"/);
  await assert.rejects(
    enqueueDocuments(docs(5, 'u'), { redis: redis.url, job: job('unfinished'), queue }),
    /already exists with another input \(4 documents then, 5 now\)/,
  );
});

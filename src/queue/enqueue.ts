import { Queue } from 'bullmq';
import { attachDocumentContext } from '../core/context.js';
import { InputError } from '../core/errors.js';
import type { NerDocument } from '../core/types.js';
import { checkRedis, connect } from './connection.js';
import { QueueError } from './errors.js';
import { type BatchData, DEFAULT_QUEUE, jobKeys, queuedDocument, validateJobName } from './keys.js';

export interface EnqueueOptions {
  redis: string;
  job: string;
  queue?: string;
  batchSize?: number;
  /** Attempts per document before it is parked with its error. */
  maxAttempts?: number;
}

export interface EnqueueResult {
  job: string;
  documents: number;
  batches: number;
}

/**
 * Puts documents on the queue in batches. Batch job ids are deterministic (`<job>#<offset>`), so
 * enqueueing the same job twice adds nothing twice.
 */
export async function enqueueDocuments(input: NerDocument[], opts: EnqueueOptions): Promise<EnqueueResult> {
  // The enqueuer does not know the workers' config: every document takes its context along, which
  // a worker's CRF reads (src/core/context.ts) and anything else ignores.
  const docs = attachDocumentContext(input);
  const job = validateJobName(opts.job);
  const batchSize = opts.batchSize ?? 50;
  const maxAttempts = opts.maxAttempts ?? 3;
  const ids = new Set<string>();
  for (const d of docs) {
    if (ids.has(d.id))
      throw new InputError(`duplicate document id "${d.id}" in the input: ids must be unique per job`);
    ids.add(d.id);
  }
  await checkRedis(opts.redis);
  const redis = connect(opts.redis);
  const queue = new Queue<BatchData>(opts.queue ?? DEFAULT_QUEUE, { connection: redis });
  try {
    const keys = jobKeys(job);
    const existing = await redis.hget(keys.meta, 'total');
    if (existing !== null && Number(existing) !== docs.length) {
      throw new QueueError(
        `job "${job}" already exists with ${existing} documents; choose another --job name`,
      );
    }
    await redis.hset(keys.meta, {
      total: docs.length,
      batchSize,
      maxAttempts,
      created: Date.now(),
    });
    let batches = 0;
    const bulk: { name: string; data: BatchData; opts: Record<string, unknown> }[] = [];
    const flush = async () => {
      if (bulk.length) await queue.addBulk(bulk.splice(0));
    };
    for (let offset = 0; offset < docs.length; offset += batchSize) {
      const slice = docs.slice(offset, offset + batchSize).map(queuedDocument);
      bulk.push({
        name: 'batch',
        data: { job, offset, docs: slice },
        opts: {
          jobId: `${job}#${offset}`,
          // Document-level attempts are counted by the worker; the batch may run a few more times.
          attempts: maxAttempts + 2,
          backoff: { type: 'exponential', delay: 200 },
          removeOnComplete: true,
          removeOnFail: 1000,
        },
      });
      batches++;
      if (bulk.length >= 500) await flush();
    }
    await flush();
    return { job, documents: docs.length, batches };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

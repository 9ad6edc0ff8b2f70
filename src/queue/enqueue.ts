import { Queue } from 'bullmq';
import { attachDocumentContext } from '../core/context.js';
import { InputError } from '../core/errors.js';
import type { NerDocument } from '../core/types.js';
import { inputFingerprint } from '../run/fingerprint.js';
import { type connect, withRedis } from './connection.js';
import { JobMismatchError } from './errors.js';
import { type BatchData, DEFAULT_QUEUE, jobKeys, queuedDocument, validateJobName } from './keys.js';

export interface EnqueueOptions {
  redis: string;
  job: string;
  queue?: string;
  batchSize?: number;
  /** Attempts per document before it is parked with its error. */
  maxAttempts?: number;
  /** Move the job's parked documents back to pending (fresh attempts) and queue their batches again. */
  retryParked?: boolean;
}

export interface EnqueueResult {
  job: string;
  documents: number;
  batches: number;
  /** Whether the job already existed with this input (an enqueue again adds nothing twice). */
  existed: boolean;
  /** With `retryParked`: parked documents moved back to pending, and the batches queued for them. */
  retried?: { documents: number; batches: number };
}

/**
 * Creates the job's meta unless the job exists; else returns what the job was created with.
 * One script, so two enqueues of one name cannot both create it, and a refused enqueue changes nothing.
 */
const CREATE_OR_READ = `
local cur = redis.call('HMGET', KEYS[1], 'input', 'total', 'batchSize')
if not cur[2] then
  redis.call('HSET', KEYS[1], 'input', ARGV[1], 'total', ARGV[2], 'batchSize', ARGV[3], 'maxAttempts', ARGV[4], 'created', ARGV[5])
  return {'created'}
end
return {'exists', cur[1] or '', cur[2], cur[3] or ''}
`;

/**
 * Puts documents on the queue in batches. Batch job ids are deterministic (`<job>#<offset>`), so
 * enqueueing the same input as the same job twice adds nothing twice. The job's meta keeps a
 * fingerprint of the input (ids, texts, tokens, meta: the one `el4ner run` records) and the batch
 * size; another input, or another batch size, under an existing job name is refused.
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
  const fingerprint = inputFingerprint(docs);
  return withRedis(opts.redis, async (redis) => {
    const queue = new Queue<BatchData>(opts.queue ?? DEFAULT_QUEUE, { connection: redis });
    try {
      const keys = jobKeys(job);
      const r = (await redis.eval(
        CREATE_OR_READ,
        1,
        keys.meta,
        fingerprint.sha256,
        docs.length,
        batchSize,
        maxAttempts,
        Date.now(),
      )) as string[];
      const existed = r[0] === 'exists';
      if (existed) {
        const why = mismatch(
          { input: r[1], total: Number(r[2]), batchSize: r[3] === '' ? undefined : Number(r[3]) },
          { input: fingerprint.sha256, total: docs.length, batchSize },
        );
        if (why) {
          throw new JobMismatchError(
            `job "${job}" already exists with ${why}; nothing was enqueued. Enqueue this input under a new --job name (job "${job}" and its results stay as they are)`,
          );
        }
        // a job enqueued before inputs were fingerprinted: record it now that the counts agree
        if (r[1] === '') await redis.hsetnx(keys.meta, 'input', fingerprint.sha256);
      }
      const batchOpts = (jobId: string) => ({
        jobId,
        // Document-level attempts are counted by the worker; the batch may run a few more times.
        attempts: maxAttempts + 2,
        backoff: { type: 'exponential', delay: 200 },
        removeOnComplete: true,
        removeOnFail: 1000,
      });
      const add = async (offsets: number[], idOf: (offset: number) => string) => {
        const bulk: { name: string; data: BatchData; opts: Record<string, unknown> }[] = [];
        for (const offset of offsets) {
          const slice = docs.slice(offset, offset + batchSize).map(queuedDocument);
          bulk.push({ name: 'batch', data: { job, offset, docs: slice }, opts: batchOpts(idOf(offset)) });
          if (bulk.length >= 500) await queue.addBulk(bulk.splice(0));
        }
        if (bulk.length) await queue.addBulk(bulk);
        return offsets.length;
      };
      const offsets: number[] = [];
      for (let offset = 0; offset < docs.length; offset += batchSize) offsets.push(offset);
      const batches = await add(offsets, (offset) => `${job}#${offset}`);
      const result: EnqueueResult = { job, documents: docs.length, batches, existed };
      if (opts.retryParked) result.retried = await retryParked(redis, job, batchSize, add);
      return result;
    } finally {
      await queue.close();
    }
  });
}

/**
 * Moves the parked documents of a job back to pending: their parked rows and failure counts are
 * removed, and the batches holding them are queued again under new ids (`<job>#<offset>#r<round>`:
 * BullMQ keeps failed batches under their old ids); a worker skips the finished documents of a batch.
 */
async function retryParked(
  redis: ReturnType<typeof connect>,
  job: string,
  batchSize: number,
  add: (offsets: number[], idOf: (offset: number) => string) => Promise<number>,
): Promise<{ documents: number; batches: number }> {
  const keys = jobKeys(job);
  const parked = (await redis.hkeys(keys.parked)).map(Number).filter((i) => Number.isInteger(i));
  if (parked.length === 0) return { documents: 0, batches: 0 };
  const round = await redis.hincrby(keys.meta, 'retryRound', 1);
  const fields = parked.map(String);
  await redis
    .multi()
    .hdel(keys.parked, ...fields)
    .hdel(keys.fails, ...fields)
    .exec();
  const offsets = [...new Set(parked.map((i) => i - (i % batchSize)))].sort((a, b) => a - b);
  const batches = await add(offsets, (offset) => `${job}#${offset}#r${round}`);
  return { documents: parked.length, batches };
}

/** Why an enqueue does not match the job as created, or undefined when it does. */
function mismatch(
  then: { input: string; total: number; batchSize?: number },
  now: { input: string; total: number; batchSize: number },
): string | undefined {
  if (then.total !== now.total) return `another input (${then.total} documents then, ${now.total} now)`;
  if (then.input !== '' && then.input !== now.input)
    return `another input (the same number of documents, ${now.total}, other ids, texts, tokens or meta)`;
  if (then.batchSize !== undefined && then.batchSize !== now.batchSize)
    return `this input in batches of ${then.batchSize} (--batch ${now.batchSize} now; give --batch ${then.batchSize} to enqueue it again)`;
  return undefined;
}

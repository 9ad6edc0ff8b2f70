import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { withRedis } from './connection.js';
import { DURABILITY_HINT, QueueError } from './errors.js';
import { DEFAULT_QUEUE, jobKeys, validateJobName } from './keys.js';

export interface JobStatus {
  job: string;
  total: number;
  done: number;
  parked: number;
  remaining: number;
  /** Batches of the whole queue by state (all jobs share one queue). */
  batches: Record<string, number>;
  /** Documents per second between the first and the last finished document. */
  rate: number;
  etaSeconds: number | null;
  /** Cost summaries reported by each worker. */
  workers: Record<string, unknown>;
}

export async function readStatus(redis: Redis, job: string, queueName = DEFAULT_QUEUE): Promise<JobStatus> {
  validateJobName(job);
  const keys = jobKeys(job);
  const meta = await redis.hgetall(keys.meta);
  if (!meta.total) throw unknownJob(job);
  const [done, parked, costs] = await Promise.all([
    redis.hlen(keys.results),
    redis.hlen(keys.parked),
    redis.hgetall(keys.costs),
  ]);
  const queue = new Queue(queueName, { connection: redis });
  const batches = await queue.getJobCounts(
    'waiting',
    'active',
    'delayed',
    'failed',
    'completed',
    'prioritized',
  );
  await queue.close();
  const total = Number(meta.total);
  const span = (Number(meta.lastDone) - Number(meta.firstDone)) / 1000;
  const rate = done > 1 && span > 0 ? done / span : 0;
  const remaining = Math.max(0, total - done - parked);
  const workers: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(costs)) workers[k] = JSON.parse(v);
  return {
    job,
    total,
    done,
    parked,
    remaining,
    batches,
    rate,
    etaSeconds: rate > 0 ? remaining / rate : null,
    workers,
  };
}

/** No such job: a typo, or a job Redis lost. */
export function unknownJob(job: string): QueueError {
  return new QueueError(
    `no job named "${job}" on this Redis (el4ner enqueue creates it; if it was enqueued, Redis lost it. ${DURABILITY_HINT})`,
  );
}

export async function jobStatus(url: string, job: string, queueName?: string): Promise<JobStatus> {
  validateJobName(job);
  return withRedis(url, (redis) => readStatus(redis, job, queueName));
}

import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { connect } from './connection.js';
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
  if (!meta.total) throw new Error(`no job named "${job}" on this Redis`);
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

export async function jobStatus(url: string, job: string, queueName?: string): Promise<JobStatus> {
  const redis = connect(url);
  try {
    return await readStatus(redis, job, queueName);
  } finally {
    redis.disconnect();
  }
}

import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import pLimit from 'p-limit';
import type { NerDocument } from '../core/types.js';
import { connect } from './connection.js';
import { type BatchData, DEFAULT_QUEUE, jobKeys } from './keys.js';

/** What a worker runs on each document: the pipeline (or the SLM alone) built from a config. */
export interface DocumentProcessor {
  process(doc: { id: string; text: string; meta?: Record<string, unknown> }): Promise<NerDocument>;
  /** A JSON-serialisable cost summary of everything this processor did so far. */
  costs?(): unknown;
  close?(): Promise<void>;
}

export interface WorkerOptions {
  redis: string;
  processor: DocumentProcessor;
  queue?: string;
  /** Documents processed at once inside this worker. */
  concurrency?: number;
  /** Lock duration: a killed worker's batch is handed to another worker after about this long. */
  lockMs?: number;
  /** Stop after the queue has been empty this long (default: run until signalled). */
  idleExitMs?: number;
  workerId?: string;
  log?: (line: string) => void;
}

export interface WorkerStats {
  workerId: string;
  documents: number;
  failures: number;
  parked: number;
}

/**
 * Runs one worker until it is closed (SIGINT/SIGTERM in the CLI) or idle for `idleExitMs`.
 * At-least-once: each document's result is stored under its input index as soon as it is done,
 * so a batch redone after a crash skips finished documents and overwrites nothing twice.
 */
export async function runWorker(
  opts: WorkerOptions,
): Promise<{ stats: WorkerStats; close: () => Promise<void>; done: Promise<void> }> {
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}`;
  const log = opts.log ?? (() => {});
  const redis = connect(opts.redis);
  const stats: WorkerStats = { workerId, documents: 0, failures: 0, parked: 0 };
  const limit = pLimit(opts.concurrency ?? 4);
  const lockMs = opts.lockMs ?? 30_000;

  const processBatch = async (data: BatchData) => {
    const keys = jobKeys(data.job);
    const maxAttempts = Number((await redis.hget(keys.meta, 'maxAttempts')) ?? 3);
    const check = redis.multi();
    data.docs.forEach((_, i) => {
      check.hexists(keys.results, String(data.offset + i));
      check.hexists(keys.parked, String(data.offset + i));
    });
    const flags = ((await check.exec()) ?? []).map(([, v]) => v === 1);
    let retry = false;
    await Promise.all(
      data.docs.map((doc, i) =>
        limit(async () => {
          if (flags[2 * i] || flags[2 * i + 1]) return;
          const idx = String(data.offset + i);
          try {
            const out = await opts.processor.process(doc);
            const row = { ...out, id: doc.id, text: doc.text };
            const now = Date.now();
            await redis
              .multi()
              .hset(keys.results, idx, JSON.stringify(row))
              .hsetnx(keys.meta, 'firstDone', now)
              .hset(keys.meta, 'lastDone', now)
              .exec();
            stats.documents++;
          } catch (err) {
            stats.failures++;
            const message = err instanceof Error ? err.message : String(err);
            const n = await redis.hincrby(keys.fails, idx, 1);
            if (n >= maxAttempts) {
              await redis.hset(
                keys.parked,
                idx,
                JSON.stringify({ id: doc.id, text: doc.text, error: message, attempts: n }),
              );
              stats.parked++;
              log(`parked document ${doc.id} after ${n} attempts: ${message}`);
            } else {
              retry = true;
              log(`document ${doc.id} failed (attempt ${n}/${maxAttempts}): ${message}`);
            }
          }
        }),
      ),
    );
    if (opts.processor.costs) await redis.hset(keys.costs, workerId, JSON.stringify(opts.processor.costs()));
    if (retry) throw new Error('some documents of the batch failed; the batch will be retried');
  };

  const workerConnection = connect(opts.redis, true);
  const worker = new Worker<BatchData>(opts.queue ?? DEFAULT_QUEUE, async (job) => processBatch(job.data), {
    connection: workerConnection,
    concurrency: 1,
    lockDuration: lockMs,
    stalledInterval: Math.max(500, Math.floor(lockMs / 2)),
    maxStalledCount: 10,
    autorun: false,
  });
  worker.on('error', (e) => log(`worker error: ${e.message}`));

  let idleTimer: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;
  const close = async () => {
    closing ??= (async () => {
      if (idleTimer) clearTimeout(idleTimer);
      await worker.close();
      await opts.processor.close?.();
      redis.disconnect();
      workerConnection.disconnect();
    })();
    return closing;
  };
  if (opts.idleExitMs !== undefined) {
    const idleMs = opts.idleExitMs;
    const arm = () => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(() => void close(), idleMs);
    };
    worker.on('drained', arm);
    worker.on('active', () => {
      if (idleTimer) clearTimeout(idleTimer);
    });
    arm();
  }
  const done = worker.run().then(() => closing);
  return { stats, close, done: done.then(() => undefined) };
}

import { hostname } from 'node:os';
import { DelayedError, type Job, Queue, Worker } from 'bullmq';
import pLimit from 'p-limit';
import type { NerDocument } from '../core/types.js';
import { outputRow } from '../run/run-output.js';
import { checkRedis, connect, isConnectionError, redactRedisUrl } from './connection.js';
import { DURABILITY_HINT } from './errors.js';
import { type BatchData, DEFAULT_QUEUE, jobKeys, type QueuedDocument } from './keys.js';

/** What a worker runs on each document: the pipeline (or the SLM alone) built from a config. */
export interface DocumentProcessor {
  process(doc: QueuedDocument): Promise<NerDocument>;
  /** A JSON-serialisable cost summary of everything this processor did so far. */
  costs?(): unknown;
  /**
   * The fingerprint of its config (src/run/fingerprint.ts): the first worker that stores a result
   * of a job records it, and a worker with another one is refused for that job.
   */
  fingerprint?: { hash: string; parts: Record<string, string> };
  /**
   * For a failure that says the models were not asked (their circuit breakers are open): how long
   * to wait before the document is tried again. Such a failure does not count as an attempt.
   */
  retryLaterMs?(err: unknown): number | undefined;
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
  /** Results this worker stored that Redis no longer has (it restarted from an older snapshot), per job. */
  lost: Record<string, number>;
  /** False when the final check of the stored results could not run (Redis unreachable at exit). */
  verified: boolean;
  /** Documents put off because the models' circuit breakers were open (not counted as attempts). */
  deferred: number;
  /** Why this worker stopped: a job's results come from another config (it stored nothing of that job). */
  refused?: string;
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
  await checkRedis(opts.redis);
  const redis = connect(opts.redis);
  const stats: WorkerStats = {
    workerId,
    documents: 0,
    failures: 0,
    parked: 0,
    lost: {},
    verified: true,
    deferred: 0,
  };
  // What this worker stored, per job, so a Redis that comes back without it is noticed.
  const stored = new Map<string, Set<number>>();
  const remember = (job: string, idx: number) => {
    const s = stored.get(job) ?? new Set<number>();
    stored.set(job, s);
    s.add(idx);
  };
  /** Checks that every result and parked row this worker stored is still in Redis; logs and counts what is not. */
  const verifyStored = async () => {
    for (const [job, indices] of stored) {
      const keys = jobKeys(job);
      const list = [...indices];
      const check = redis.multi().hexists(keys.meta, 'total');
      for (const i of list) check.hexists(keys.results, String(i)).hexists(keys.parked, String(i));
      const r = ((await check.exec()) ?? []).map(([, v]) => v === 1);
      let missing = 0;
      for (let k = 0; k < list.length; k++) if (!r[1 + 2 * k] && !r[2 + 2 * k]) missing++;
      if (missing > (stats.lost[job] ?? 0)) {
        stats.lost[job] = missing;
        log(
          `ERROR: Redis lost ${missing} of the ${list.length} document(s) this worker finished for job "${job}"${r[0] ? '' : ' and the job itself'}: it restarted from an older snapshot or without persistence. ${DURABILITY_HINT}`,
        );
      }
    }
  };
  let reconnected = false;
  let readyCount = 0;
  redis.on('ready', () => {
    if (++readyCount > 1) reconnected = true;
  });
  const limit = pLimit(opts.concurrency ?? 4);
  const lockMs = opts.lockMs ?? 30_000;

  const fp = opts.processor.fingerprint;
  /** Why `job`'s recorded config is not this worker's, or undefined. */
  const configMismatch = async (job: string, recorded: string | null): Promise<string | undefined> => {
    if (!fp || recorded === null || recorded === fp.hash) return undefined;
    const partsText = await redis.hget(jobKeys(job).meta, 'configParts');
    const then = partsText ? (JSON.parse(partsText) as Record<string, string>) : {};
    const changed = [...new Set([...Object.keys(then), ...Object.keys(fp.parts)])].filter(
      (k) => then[k] !== fp.parts[k],
    );
    return `job "${job}" has results from another configuration than this worker's${changed.length ? ` (${changed.join(', ')} differ, or a file named there)` : ''}: start the workers of a job with the config of its first worker, or enqueue the input as a new job for this config`;
  };
  /** Records this worker's config for `job` unless one is recorded (once per job): the config of its results. */
  const claimed = new Map<string, Promise<string | undefined>>();
  const claimConfig = (job: string): Promise<string | undefined> => {
    if (!fp) return Promise.resolve(undefined);
    let p = claimed.get(job);
    if (!p) {
      const meta = jobKeys(job).meta;
      p = (async () => {
        const r = (await redis.multi().hsetnx(meta, 'config', fp.hash).hget(meta, 'config').exec()) ?? [];
        if (r[0]?.[1] === 1) await redis.hset(meta, 'configParts', JSON.stringify(fp.parts));
        return configMismatch(job, (r[1]?.[1] as string | null) ?? null);
      })();
      claimed.set(job, p);
    }
    return p;
  };
  /** Stops this worker without touching the batch: another worker (with the job's config) takes it. */
  const refuse = async (job: Job<BatchData>, token: string | undefined, why: string) => {
    stats.refused ??= why;
    log(`ERROR: ${why}`);
    await job.moveToDelayed(Date.now(), token);
    void close();
    throw new DelayedError();
  };

  const processBatch = async (job: Job<BatchData>, token: string | undefined) => {
    const data = job.data;
    const keys = jobKeys(data.job);
    if (reconnected) {
      reconnected = false;
      await verifyStored();
    }
    const [maxAttemptsText, recordedConfig] = await redis.hmget(keys.meta, 'maxAttempts', 'config');
    const maxAttempts = Number(maxAttemptsText ?? 3);
    const before = await configMismatch(data.job, recordedConfig);
    if (before) return refuse(job, token, before);
    const check = redis.multi();
    data.docs.forEach((_, i) => {
      check.hexists(keys.results, String(data.offset + i));
      check.hexists(keys.parked, String(data.offset + i));
    });
    const flags = ((await check.exec()) ?? []).map(([, v]) => v === 1);
    let retry = false;
    let refusedConfig: string | undefined;
    // documents the models were not asked for (open circuit breakers), and how long to wait
    let deferred = 0;
    let waitMs = 0;
    let deferCause = '';
    await Promise.all(
      data.docs.map((doc, i) =>
        limit(async () => {
          if (flags[2 * i] || flags[2 * i + 1] || refusedConfig) return;
          const idx = String(data.offset + i);
          let out: NerDocument;
          try {
            out = await opts.processor.process(doc);
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            const later = opts.processor.retryLaterMs?.(err);
            if (later !== undefined) {
              deferred++;
              waitMs = Math.max(waitMs, later);
              deferCause ||= message;
              return;
            }
            stats.failures++;
            const n = await redis.hincrby(keys.fails, idx, 1);
            if (n >= maxAttempts) {
              await redis.hset(
                keys.parked,
                idx,
                JSON.stringify({ id: doc.id, text: doc.text, error: message, attempts: n }),
              );
              remember(data.job, data.offset + i);
              stats.parked++;
              log(`parked document ${doc.id} after ${n} attempts: ${message}`);
            } else {
              retry = true;
              log(`document ${doc.id} failed (attempt ${n}/${maxAttempts}): ${message}`);
            }
            return;
          }
          const mismatch = await claimConfig(data.job);
          if (mismatch) {
            refusedConfig = mismatch;
            return;
          }
          const row = outputRow({ ...out, id: doc.id, text: doc.text });
          const now = Date.now();
          await redis
            .multi()
            .hset(keys.results, idx, JSON.stringify(row))
            .hsetnx(keys.meta, 'firstDone', now)
            .hset(keys.meta, 'lastDone', now)
            .exec();
          remember(data.job, data.offset + i);
          stats.documents++;
        }),
      ),
    );
    if (opts.processor.costs) await redis.hset(keys.costs, workerId, JSON.stringify(opts.processor.costs()));
    if (refusedConfig) return refuse(job, token, refusedConfig);
    if (deferred > 0) {
      // The models were not asked: no attempt of these documents is counted, and the batch waits
      // at least the breakers' cooldown (a 200 ms backoff would land every retry inside it).
      stats.deferred += deferred;
      log(
        `${deferred} document(s) of job "${data.job}" put off for ${Math.ceil(waitMs / 1000)} s, not counted as attempts: ${deferCause}`,
      );
      await job.moveToDelayed(Date.now() + waitMs, token);
      throw new DelayedError();
    }
    if (retry) throw new Error('some documents of the batch failed; the batch will be retried');
  };

  const workerConnection = connect(opts.redis, true);
  const queueName = opts.queue ?? DEFAULT_QUEUE;
  const worker = new Worker<BatchData>(queueName, async (job, token) => processBatch(job, token), {
    connection: workerConnection,
    concurrency: 1,
    lockDuration: lockMs,
    stalledInterval: Math.max(500, Math.floor(lockMs / 2)),
    maxStalledCount: 10,
    autorun: false,
  });
  // While Redis is down, BullMQ reports every failed reconnect: one line per outage, one when it is back.
  let outage: string | undefined;
  worker.on('error', (e) => {
    if (isConnectionError(e)) {
      if (outage) return;
      outage = e.message;
      log(
        `Redis at ${redactRedisUrl(opts.redis)} is unreachable (${e.message}); waiting for it to come back`,
      );
    } else log(`worker error: ${e.message}`);
  });
  redis.on('ready', () => {
    if (!outage) return;
    outage = undefined;
    log('Redis answers again');
  });

  let idleTimer: NodeJS.Timeout | undefined;
  let view: Queue | undefined;
  let closing: Promise<void> | undefined;
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const close = async () => {
    closing ??= (async () => {
      if (idleTimer) clearTimeout(idleTimer);
      // BullMQ's close waits for Redis; with Redis gone it would wait for ever. The batch in flight
      // is not lost: its lock runs out and another worker takes it once Redis is back.
      const down = whileUnreachable(redis);
      const stopped = await Promise.race([worker.close().then(() => true), down.gone.then(() => false)]);
      down.stop();
      if (stopped)
        await verifyStored().catch((e) => {
          stats.verified = false;
          log(`ERROR: cannot check that Redis still has this worker's results: ${(e as Error).message}`);
        });
      else {
        stats.verified = false;
        log(`stopped while Redis at ${redactRedisUrl(opts.redis)} is unreachable`);
      }
      await opts.processor.close?.();
      if (stopped) await view?.close();
      redis.disconnect();
      workerConnection.disconnect();
    })().finally(markClosed);
    return closing;
  };
  if (opts.idleExitMs !== undefined) {
    const idleMs = opts.idleExitMs;
    // batches put off until the models' breakers let calls through again are work still to do
    const counts = new Queue(queueName, { connection: redis });
    view = counts;
    const arm = () => {
      if (idleTimer) clearTimeout(idleTimer);
      idleTimer = setTimeout(async () => {
        const waiting = await counts
          .getJobCounts('delayed', 'waiting', 'prioritized')
          .then((c) => Object.values(c).reduce((a, b) => a + b, 0))
          .catch(() => 0);
        if (waiting > 0 && !closing) arm();
        else void close();
      }, idleMs);
    };
    worker.on('drained', arm);
    worker.on('active', () => {
      if (idleTimer) clearTimeout(idleTimer);
    });
    arm();
  }
  // with Redis gone, run() may not settle after close(): done follows close() as well
  const done = Promise.race([worker.run().then(() => closing), closed]);
  return { stats, close, done: done.then(() => undefined) };
}

/** Resolves `gone` once `redis` has not been connected for `ms` in a row. */
function whileUnreachable(
  redis: ReturnType<typeof connect>,
  ms = 5000,
): { gone: Promise<void>; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const gone = new Promise<void>((resolve) => {
    let since = redis.status === 'ready' ? undefined : Date.now();
    timer = setInterval(() => {
      if (redis.status === 'ready') since = undefined;
      else {
        since ??= Date.now();
        if (Date.now() - since >= ms) resolve();
      }
    }, 250);
  });
  return { gone, stop: () => clearInterval(timer) };
}

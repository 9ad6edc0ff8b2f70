import { Redis } from 'ioredis';
import { QueueError } from './errors.js';

/** The URL without its password, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** One ioredis connection; BullMQ workers need maxRetriesPerRequest null. */
export function connect(url: string, forWorker = false): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: forWorker ? null : 3,
    lazyConnect: false,
    enableReadyCheck: true,
  });
  // ioredis reports every failed reconnect as an 'error' event; without a listener it prints each
  // one with its stack. Commands still fail (or wait, for workers) and say why.
  redis.on('error', () => {});
  return redis;
}

/**
 * Fails fast with one clear line when Redis cannot be reached, instead of retrying for ever
 * (workers) or failing later with "max retries per request".
 */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  let cause: NodeJS.ErrnoException | undefined;
  probe.on('error', (e: NodeJS.ErrnoException) => {
    cause ??= e;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    const err = cause ?? (e as NodeJS.ErrnoException);
    throw new QueueError(
      `cannot reach Redis at ${redactRedisUrl(url)}: ${err.code ?? err.message} (is redis-server running? --redis or EL4NER_REDIS give its URL)`,
    );
  } finally {
    probe.disconnect();
  }
}

import { Redis } from 'ioredis';
import { InputError } from '../core/errors.js';
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
 * A --redis of another scheme (http://...) is a command-line error: ioredis would read it as a
 * host name or socket path and fail with a misleading ENOENT / ENOTFOUND.
 */
export function checkRedisUrl(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^rediss?:\/\//i.test(url))
    throw new InputError(
      `--redis ${redactRedisUrl(url)}: not a Redis URL; give redis://host:port (rediss:// for TLS) or the path of a Unix socket`,
    );
  return url;
}

/**
 * Fails fast with one clear line when Redis cannot be reached, instead of retrying for ever
 * (workers) or failing later with "max retries per request".
 */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  checkRedisUrl(url);
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

/** A failed or lost connection to Redis, as opposed to an error of the command itself. */
export function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return (
    e.name === 'MaxRetriesPerRequestError' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'EPIPE'].includes(
      code,
    ) ||
    /Connection is closed|connect ETIMEDOUT/.test(e.message)
  );
}

/**
 * Runs `work` on one connection to a Redis that answered the start-up check. Redis going away
 * meanwhile is a QueueError (one line, exit 5), not a crash; what `work` throws itself passes.
 */
export async function withRedis<T>(url: string, work: (redis: Redis) => Promise<T>): Promise<T> {
  await checkRedis(url);
  const redis = connect(url);
  try {
    return await work(redis);
  } catch (e) {
    if (!isConnectionError(e)) throw e;
    throw new QueueError(
      `lost the connection to Redis at ${redactRedisUrl(url)}: ${(e as Error).message}; run the same command again once Redis answers`,
    );
  } finally {
    redis.disconnect();
  }
}

import { Redis } from 'ioredis';

/** One ioredis connection; BullMQ workers need maxRetriesPerRequest null. */
export function connect(url: string, forWorker = false): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: forWorker ? null : 3,
    lazyConnect: false,
    enableReadyCheck: true,
  });
}

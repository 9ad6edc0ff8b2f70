import { once } from 'node:events';
import { inChunks, writeWholeFile } from '../core/write-file.js';
import { withRedis } from './connection.js';
import { QueueError } from './errors.js';
import { jobKeys, validateJobName } from './keys.js';
import { unknownJob } from './status.js';

export interface CollectResult {
  written: number;
  parked: number;
  missing: number;
}

/**
 * Writes every document of a job in input order, each exactly once. A parked document (failed every
 * attempt) is written with its `error` and no entities, so nothing is lost. Unless `partial`, a job
 * with unfinished documents is an error. `output` '-' is stdout.
 */
export async function collectJob(
  url: string,
  job: string,
  output: string,
  opts: { partial?: boolean } = {},
): Promise<CollectResult> {
  validateJobName(job);
  return withRedis(url, async (redis) => {
    const keys = jobKeys(job);
    // an empty input is a job of 0 documents (collected to an empty file, as `el4ner run` writes one)
    const recorded = await redis.hget(keys.meta, 'total');
    const total = Number(recorded);
    if (recorded === null || !Number.isInteger(total) || total < 0) throw unknownJob(job);
    const rows = new Array<string | undefined>(total);
    let parked = 0;
    const scan = async (key: string, onRow: (idx: number, value: string) => void) => {
      let cursor = '0';
      do {
        const [next, items] = await redis.hscan(key, cursor, 'COUNT', 1000);
        cursor = next;
        for (let i = 0; i < items.length; i += 2) onRow(Number(items[i]), items[i + 1]);
      } while (cursor !== '0');
    };
    await scan(keys.results, (idx, v) => {
      rows[idx] = v;
    });
    await scan(keys.parked, (idx, v) => {
      if (rows[idx] !== undefined) return;
      const p = JSON.parse(v) as { id: string; text?: string; error: string; attempts: number };
      rows[idx] = JSON.stringify({
        id: p.id,
        ...(p.text !== undefined ? { text: p.text } : {}),
        entities: [],
        // a parked row is degraded like an unanswered row of `el4ner run`
        degraded: true,
        error: p.error,
        attempts: p.attempts,
      });
      parked++;
    });
    let missing = 0;
    for (let i = 0; i < total; i++) if (rows[i] === undefined) missing++;
    if (missing > 0 && !opts.partial) {
      throw new QueueError(
        `${missing} of ${total} documents of job "${job}" are not finished yet (see el4ner status; --partial writes what is done)`,
      );
    }
    const written = total - missing;
    // line by line: a large job's output may not fit in one string. '-' is stdout, as for
    // `el4ner run`; a file is replaced whole, never left half-written
    const lines = (function* () {
      for (const r of rows) if (r !== undefined) yield `${r}\n`;
    })();
    if (output === '-') {
      for (const chunk of inChunks(lines)) {
        if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
      }
      await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    } else await writeWholeFile(output, lines);
    return { written, parked, missing };
  });
}

import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';

/** Yields [1-based line number, line] with the line ending (and a leading BOM) removed. Streams the file ('-' = stdin). */
export async function* readLines(file: string): AsyncGenerator<[number, string]> {
  const input =
    file === '-' ? process.stdin.setEncoding('utf8') : createReadStream(file, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const raw of rl) {
      n++;
      yield [n, n === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw];
    }
  } finally {
    rl.close();
  }
}

/** The file name without folder and without its last extension: `data/test.jsonl` -> `test`. */
export function fileStem(file: string): string {
  if (file === '-') return 'stdin';
  const b = basename(file);
  const dot = b.lastIndexOf('.');
  return dot > 0 ? b.slice(0, dot) : b;
}

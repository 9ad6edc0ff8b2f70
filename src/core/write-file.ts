/**
 * Writes a whole output file so that a failure (a full disk, a size limit, a kill) never leaves it
 * half-written, nor a previous version of it truncated: the text goes to a temp file beside it,
 * renamed over the path once complete. A device or other non-regular path (/dev/stdout, a FIFO)
 * is written as it is.
 */
import { existsSync, statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { InputError } from './errors.js';

export async function writeWholeFile(path: string, text: string | Uint8Array): Promise<void> {
  const fail = (e: unknown) => new InputError(`cannot write: ${(e as Error).message}`, path);
  if (existsSync(path) && !statSync(path).isFile()) {
    await writeFile(path, text).catch((e) => {
      throw fail(e);
    });
    return;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw fail(e);
  }
}

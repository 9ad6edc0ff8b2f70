/**
 * Writes a whole output file so that a failure (a full disk, a size limit, a kill) never leaves it
 * half-written, nor a previous version of it truncated: the bytes go to a temp file beside it,
 * renamed over the path once complete. The temp name is unique per call, so concurrent writers of
 * one path (processes or calls) never write into each other's temp file; the last rename wins.
 * A device or other non-regular path (/dev/stdout, a FIFO) is written as it is.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { InputError } from './errors.js';

const cannotWrite = (path: string, e: unknown) =>
  new InputError(`cannot write: ${(e as Error).message}`, path);

const isSpecial = (path: string) => existsSync(path) && !statSync(path).isFile();

function tempBeside(path: string): string {
  return `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

/** The pieces of `parts` joined into chunks of about `size` characters: few writes, no giant string. */
export function* inChunks(parts: Iterable<string>, size = 1 << 20): Generator<string> {
  let chunk = '';
  for (const part of parts) {
    chunk += part;
    if (chunk.length >= size) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/**
 * `data` may come in pieces (an iterable of strings, lines say), for a text too large for one
 * string; they are written in chunks.
 */
export async function writeWholeFile(
  path: string,
  data: string | Uint8Array | Iterable<string>,
): Promise<void> {
  const target = isSpecial(path) ? path : tempBeside(path);
  try {
    await writeFile(target, typeof data === 'string' || data instanceof Uint8Array ? data : inChunks(data));
    if (target !== path) await rename(target, path);
  } catch (e) {
    if (target !== path) await rm(target, { force: true });
    throw cannotWrite(path, e);
  }
}

/**
 * The same, synchronously and flushed to the disk before the rename (`fsync`), for the small
 * records a run keeps beside its output, written where an await cannot go.
 */
export function writeWholeFileSync(path: string, data: string | Uint8Array): void {
  const target = isSpecial(path) ? path : tempBeside(path);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const fd = openSync(target, 'w');
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
      if (target !== path) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (target !== path) renameSync(target, path);
  } catch (e) {
    if (target !== path) rmSync(target, { force: true });
    throw cannotWrite(path, e);
  }
}

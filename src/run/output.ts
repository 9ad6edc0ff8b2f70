/**
 * Resumable JSONL output. A run appends one complete line per finished document. On restart with
 * the same output file, finished ids are read back and skipped; a half-written last line (the
 * process was killed mid-write) is cut off first, so the file never holds a broken row or a
 * document twice.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { InputError } from '../core/errors.js';

export interface ResumeInfo {
  /** Rows already in the file (complete lines). */
  kept: number;
  /** Bytes of a trailing partial line that were cut off. */
  truncatedBytes: number;
}

export class ResumableJsonlWriter {
  private readonly done = new Set<string>();
  private fd: number;

  private constructor(
    readonly path: string,
    fd: number,
    readonly resumeInfo: ResumeInfo,
    ids: Iterable<string>,
    private readonly syncEvery: number,
  ) {
    this.fd = fd;
    for (const id of ids) this.done.add(id);
  }

  /**
   * The ids of the complete rows of an existing output (none when there is no file), read
   * without changing it; a row that is not JSON or has no id is refused.
   */
  static scan(path: string): { ids: string[]; completeLen: number; truncatedBytes: number } {
    const ids: string[] = [];
    if (!existsSync(path)) return { ids, completeLen: 0, truncatedBytes: 0 };
    const buf = readFileSync(path);
    const completeLen = buf.lastIndexOf(0x0a) + 1;
    const text = buf.subarray(0, completeLen).toString('utf8');
    let lineNo = 0;
    for (const line of text.split('\n')) {
      lineNo++;
      if (!line.trim()) continue;
      let row: { id?: unknown };
      try {
        row = JSON.parse(line);
      } catch {
        throw new InputError(
          'existing output has a row that is not JSON; move the file away to start over',
          path,
          lineNo,
        );
      }
      if (typeof row.id !== 'string')
        throw new InputError('existing output row has no string "id"', path, lineNo);
      ids.push(row.id);
    }
    return { ids, completeLen, truncatedBytes: buf.length - completeLen };
  }

  /**
   * Opens `path` for appending. With `resume` (the default) the ids already written are loaded
   * and skipped; without it, an existing file is replaced.
   */
  static open(path: string, opts: { resume?: boolean; syncEvery?: number } = {}): ResumableJsonlWriter {
    const resume = opts.resume ?? true;
    const { ids, completeLen, truncatedBytes } = resume
      ? ResumableJsonlWriter.scan(path)
      : { ids: [], completeLen: 0, truncatedBytes: 0 };
    if (truncatedBytes > 0) {
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, completeLen);
      fsyncSync(fd);
      closeSync(fd);
    }
    const fd = openSync(path, resume ? 'a' : 'w');
    return new ResumableJsonlWriter(path, fd, { kept: ids.length, truncatedBytes }, ids, opts.syncEvery ?? 0);
  }

  has(id: string): boolean {
    return this.done.has(id);
  }

  get count(): number {
    return this.done.size;
  }

  private sinceSync = 0;

  /** Appends one row (must have a string id) as a single write; a repeated id is refused. */
  write(row: { id: string } & Record<string, unknown>): void {
    if (this.done.has(row.id)) throw new Error(`document "${row.id}" was already written to ${this.path}`);
    const line = Buffer.from(`${JSON.stringify(row)}\n`, 'utf8');
    let off = 0;
    while (off < line.length) off += writeSync(this.fd, line, off, line.length - off);
    this.done.add(row.id);
    if (this.syncEvery > 0 && ++this.sinceSync >= this.syncEvery) {
      fsyncSync(this.fd);
      this.sinceSync = 0;
    }
  }

  close(): void {
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * Where `el4ner run` writes its rows:
 * - a file: made writable first (output-path), locked against a second run (run-lock), resumed
 *   when it already has rows, but only if `<output>.run.json` says the same config and input
 *   produced them (fingerprint); `overwrite` starts it over;
 * - '-' (stdout) or a device (/dev/stdout, a FIFO): a stream, never read back, never resumed.
 */
import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { InputError } from '../core/errors.js';
import type { NerDocument } from '../core/types.js';
import { writeWholeFileSync } from '../core/write-file.js';
import { type DegradedRows, dropRows, noDegradedRows, readDegradedRows } from './degraded.js';
import { describeMismatch, type RunFingerprint } from './fingerprint.js';
import { ResumableJsonlWriter } from './output.js';
import { isStreamPath, prepareOutputFile } from './output-path.js';
import { acquireRunLock } from './run-lock.js';

export interface RunOutput {
  /** The file, or 'stdout'. */
  readonly target: string;
  /** Whether a later run with the same output can resume (a file, not a stream). */
  readonly resumable: boolean;
  /** Rows already there from an earlier run. */
  readonly kept: number;
  /** Degraded rows kept from an earlier run (not retried). */
  readonly keptDegraded: DegradedRows;
  /** Degraded rows of an earlier run dropped to be run again (`retryDegraded`). */
  readonly retried: number;
  /** Rows written by this run so far. */
  readonly written: number;
  has(id: string): boolean;
  write(row: { id: string } & Record<string, unknown>): void | Promise<void>;
  /**
   * Closes the output and releases it. A file is only created (or started over, or rid of the
   * rows to retry) by the first row, or by `finished`: a run that ended with every document done.
   */
  close(how?: { finished?: boolean }): Promise<void>;
}

/**
 * A result document as the row every route writes: id, text, entities, and when there are any,
 * meta, warnings, the degraded mark and the error of a document no model answered.
 */
export function outputRow(doc: NerDocument): { id: string } & Record<string, unknown> {
  return {
    id: doc.id,
    text: doc.text,
    entities: doc.entities,
    ...(doc.meta ? { meta: doc.meta } : {}),
    ...(doc.warnings?.length ? { warnings: doc.warnings } : {}),
    ...(doc.degraded ? { degraded: true } : {}),
    ...(doc.error ? { error: doc.error } : {}),
  };
}

export const recordPathOf = (output: string) => `${output}.run.json`;

export class OutputMismatchError extends InputError {
  constructor(message: string, output: string) {
    super(message, output);
    this.name = 'OutputMismatchError';
  }
}

interface RunRecordFile extends RunFingerprint {
  el4ner: string;
  created: string;
}

function readRecord(path: string): RunFingerprint | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as RunFingerprint;
  } catch {
    return undefined;
  }
}

function writeRecord(path: string, fp: RunFingerprint, version: string): void {
  const rec: RunRecordFile = { el4ner: version, created: new Date().toISOString(), ...fp };
  writeWholeFileSync(path, `${JSON.stringify(rec, null, 2)}\n`);
}

const STDOUT = new Set(['-', '/dev/stdout', '/dev/fd/1', '/proc/self/fd/1']);
const STDERR = new Set(['/dev/stderr', '/dev/fd/2', '/proc/self/fd/2']);

/** The process's own stdout/stderr are used as they are: reopening them fails when they are sockets. */
async function openStream(path: string): Promise<Writable> {
  if (STDOUT.has(path)) return process.stdout;
  if (STDERR.has(path)) return process.stderr;
  const stream = createWriteStream(path, { flags: 'a' });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e) =>
      reject(new InputError(`cannot write: ${(e as NodeJS.ErrnoException).code ?? e.message}`, path)),
    );
  });
  return stream;
}

async function streamOutput(path: string): Promise<RunOutput> {
  const stream = await openStream(path);
  const own = stream === process.stdout || stream === process.stderr;
  let failed: Error | undefined;
  if (!own) stream.on('error', (e) => (failed ??= new InputError(`cannot write: ${e.message}`, path)));
  let written = 0;
  let closing: Promise<void> | undefined;
  return {
    target: path === '-' ? 'stdout' : path,
    resumable: false,
    kept: 0,
    keptDegraded: noDegradedRows(),
    retried: 0,
    get written() {
      return written;
    },
    has: () => false,
    write(row) {
      if (failed) throw failed;
      // counted once the stream has taken the bytes, so a failed device reports what really got out
      const ok = stream.write(`${JSON.stringify(row)}\n`, (e) => {
        if (!e) written++;
        else if (!own) failed ??= new InputError(`cannot write: ${e.message}`, path);
      });
      if (!ok)
        return new Promise<void>((resolve, reject) => {
          const onError = (e: Error) => reject(failed ?? e);
          stream.once('error', onError);
          stream.once('drain', () => {
            stream.off('error', onError);
            resolve();
          });
        });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        if (own) resolve();
        else
          stream.end((e?: Error | null) => {
            if (e) failed ??= new InputError(`cannot write: ${e.message}`, path);
            resolve();
          });
        stream.once('error', () => resolve());
      });
      // a write that failed after its row was handed over fails the run here, not silently
      return closing.then(() => {
        if (failed) throw failed;
      });
    },
  };
}

export interface OpenRunOutputOptions {
  overwrite?: boolean;
  /** Drop the degraded rows of an earlier run (under the lock, before resuming) to run them again. */
  retryDegraded?: boolean;
  fingerprint: RunFingerprint;
  version: string;
}

export async function openRunOutput(path: string, opts: OpenRunOutputOptions): Promise<RunOutput> {
  if (isStreamPath(path)) return streamOutput(path);
  prepareOutputFile(path);
  const lock = acquireRunLock(path);
  try {
    const recordPath = recordPathOf(path);
    const hasRows = existsSync(path) && statSync(path).size > 0;
    if (hasRows && !opts.overwrite) {
      const then = readRecord(recordPath);
      if (!then)
        throw new OutputMismatchError(
          `already has rows, but no record of the config and input that produced them (${recordPath}); resuming could mix results: give --overwrite to start it over, or another --output`,
          path,
        );
      const why = describeMismatch(then, opts.fingerprint);
      if (why)
        throw new OutputMismatchError(
          `was written by another run: ${why}. Resuming would mix results in one file; give --overwrite to start it over, or another --output`,
          path,
        );
    }
    // Everything is checked now, but nothing is changed on disk before the first row (or a
    // finished run): a run that fails at start-up leaves no file behind and an earlier one as it was.
    const newRecord = !hasRows || opts.overwrite;
    let keptDegraded = opts.overwrite ? noDegradedRows() : readDegradedRows(path);
    const drop = opts.retryDegraded ? keptDegraded.degraded : new Set<string>();
    if (drop.size > 0) keptDegraded = noDegradedRows();
    const existing = opts.overwrite ? [] : ResumableJsonlWriter.scan(path).ids;
    const keep = existing.filter((id) => !drop.has(id));
    const done = new Set(keep);
    let writer: ResumableJsonlWriter | undefined;
    const open = () => {
      if (writer) return writer;
      if (newRecord) writeRecord(recordPath, opts.fingerprint, opts.version);
      if (drop.size > 0) dropRows(path, drop);
      writer = ResumableJsonlWriter.open(path, { resume: !opts.overwrite });
      return writer;
    };
    let written = 0;
    let closed = false;
    return {
      target: path,
      resumable: true,
      kept: keep.length,
      keptDegraded,
      retried: existing.length - keep.length,
      get written() {
        return written;
      },
      has: (id) => (writer ? writer.has(id) : done.has(id)),
      write(row) {
        open().write(row);
        written++;
      },
      async close(how = {}) {
        if (closed) return;
        closed = true;
        try {
          if (how.finished) open();
          writer?.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (e) {
    lock.release();
    throw e;
  }
}

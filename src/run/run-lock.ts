/**
 * One writer per output file: `<output>.lock` holds the pid and host of the run writing it.
 * A second run on the same output is refused at once instead of writing every document twice.
 * A lock left by a run that died (kill -9, power loss) on this host is taken over, because its pid
 * is no longer alive; a lock from another host is only reported (its pid cannot be checked here).
 * Liveness by pid rather than by a refreshed timestamp (as proper-lockfile does) means a resume
 * right after a crash never waits for the lock to go stale.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { InputError } from '../core/errors.js';

export class OutputLockedError extends InputError {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(message, output);
    this.name = 'OutputLockedError';
  }
}

interface Holder {
  pid: number;
  host: string;
  started: string;
}

export interface RunLock {
  readonly path: string;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(lockPath: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(lockPath, 'utf8')) as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.host === 'string'
      ? { pid: h.pid, host: h.host, started: String(h.started ?? '?') }
      : undefined;
  } catch {
    return undefined; // being written right now, or not ours: treated as held below
  }
}

/** Takes `<output>.lock` or throws OutputLockedError naming the run that holds it. */
export function acquireRunLock(output: string): RunLock {
  const lockPath = `${output}.lock`;
  const me: Holder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const h = readHolder(lockPath);
      if (h && h.host === me.host && !alive(h.pid)) {
        // the run that held it is gone: take over
        try {
          unlinkSync(lockPath);
        } catch {}
        continue;
      }
      const who = h ? `pid ${h.pid} on ${h.host}, since ${h.started}` : 'a run whose lock is unreadable';
      throw new OutputLockedError(
        `another el4ner run is writing this file (${who}); wait for it to finish or give another --output (if no such run exists any more, delete ${lockPath})`,
        output,
      );
    }
    writeSync(fd, JSON.stringify(me));
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      const h = readHolder(lockPath);
      if (h?.pid === me.pid && h.host === me.host) {
        try {
          unlinkSync(lockPath);
        } catch {}
      }
    };
    process.on('exit', release);
    return { path: lockPath, release };
  }
  throw new OutputLockedError(`cannot take the lock ${lockPath}`, output);
}

/**
 * What the command line does with an error: an expected, operational one (bad input, a locked
 * output, no model answering, Redis down, a port in use, a broken cache) is one line on stderr
 * and its own exit code; anything else is a bug and gets its stack trace. `--verbose` (or
 * EL4NER_VERBOSE=1) prints the stack of every error. docs/operations.md lists the codes.
 */

export const EXIT = {
  ok: 0,
  /** An unexpected error: a bug (stack trace printed). */
  internal: 1,
  /** Bad input file, config or command line. */
  usage: 2,
  /**
   * The output is locked by another run, or was written by another config or input; a queue job
   * enqueued with another input, or worked on with another config.
   */
  output: 3,
  /** No model answered: unreachable server, every retry failed, missing model. */
  model: 4,
  /** Redis unreachable, unknown job, or a job lost by Redis. */
  queue: 5,
  /** The server cannot listen: port in use or not allowed. */
  listen: 6,
  /** The response cache (SQLite) cannot be opened, read or written. */
  cache: 7,
  /** Interrupted by Ctrl-C (SIGINT) / SIGTERM: 128 + signal number. */
  sigint: 130,
  sigterm: 143,
} as const;

export interface Classified {
  code: number;
  message: string;
  /** Whether the stack trace is worth showing without --verbose. */
  bug: boolean;
}

const BY_NAME: Record<string, number> = {
  OutputLockedError: EXIT.output,
  OutputMismatchError: EXIT.output,
  JobMismatchError: EXIT.output,
  InputError: EXIT.usage,
  ConfigError: EXIT.usage,
  ModelFileError: EXIT.usage,
  NoAnswerError: EXIT.model,
  EngineError: EXIT.model,
  QueueError: EXIT.queue,
  CacheError: EXIT.cache,
  SqliteError: EXIT.cache,
};

function listenMessage(e: NodeJS.ErrnoException & { address?: string; port?: number }): string {
  const where = e.address !== undefined ? `${e.address}:${e.port}` : 'the address';
  if (e.code === 'EADDRINUSE')
    return `cannot listen on ${where}: the port is in use (another el4ner serve?); give another --port`;
  if (e.code === 'EADDRNOTAVAIL')
    return `cannot listen on ${where}: no such address on this machine (--host)`;
  return `cannot listen on ${where}: permission denied (ports below 1024 need privileges); give another --port`;
}

export function classifyError(err: unknown): Classified {
  if (!(err instanceof Error)) return { code: EXIT.internal, message: String(err), bug: true };
  const e = err as NodeJS.ErrnoException;
  if (e.syscall === 'listen' && ['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL'].includes(e.code ?? ''))
    return { code: EXIT.listen, message: listenMessage(e), bug: false };
  // by name, so the classes of every module copy (tsx sources, dist) are recognised
  const names = [err.name];
  for (let p = Object.getPrototypeOf(err); p && p !== Error.prototype; p = Object.getPrototypeOf(p))
    names.push(p.constructor?.name);
  const known = names.find((n) => BY_NAME[n] !== undefined);
  if (known) return { code: BY_NAME[known], message: err.message, bug: false };
  return { code: EXIT.internal, message: err.stack ?? err.message, bug: true };
}

export function isVerbose(argv: readonly string[]): boolean {
  return argv.includes('--verbose') || process.env.EL4NER_VERBOSE === '1';
}

/** The text printed for an error: its message (one line for expected errors); the stack when verbose or a bug. */
export function formatError(err: unknown, verbose: boolean): { code: number; text: string } {
  const c = classifyError(err);
  const text = verbose && err instanceof Error ? (err.stack ?? c.message) : c.message;
  return { code: c.code, text: `el4ner: ${text}\n` };
}

/** Errors raised by the engine layer. */

/** A model call that failed for good (after retries), with what is known about the last attempt. */
export class EngineError extends Error {
  readonly model: string;
  readonly attempts: number;
  readonly status?: number;
  /** The cause in a few words: `HTTP 401 unauthorized ...`, `connection refused`, `timed out ...`. */
  readonly reason?: string;
  /**
   * The server did answer (a request it refused, an answer too large): the model is up, so
   * this failure does not count toward its circuit breaker.
   */
  readonly answered: boolean;
  /** The answer was longer than the response size limit: asking differently may help. */
  readonly oversized: boolean;
  constructor(
    message: string,
    opts: {
      model: string;
      attempts: number;
      status?: number;
      reason?: string;
      answered?: boolean;
      oversized?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { cause: opts.cause });
    this.name = 'EngineError';
    this.model = opts.model;
    this.attempts = opts.attempts;
    this.status = opts.status;
    this.reason = opts.reason;
    this.answered = opts.answered ?? false;
    this.oversized = opts.oversized ?? false;
  }
}

/** The response cache (SQLite) failed: the message names the file. */
export class CacheError extends Error {
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const e = cause as { message?: string; code?: string };
    super(
      `response cache ${path}: ${e?.message ?? String(cause)}${e?.code ? ` (${e.code})` : ''}; move the file away or give another --cache (--no-cache runs without one)`,
      { cause },
    );
    this.name = 'CacheError';
  }
}

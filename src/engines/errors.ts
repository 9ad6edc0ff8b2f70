/** Errors raised by the engine layer. */

/** A model call that failed for good (after retries), with what is known about the last attempt. */
export class EngineError extends Error {
  readonly model: string;
  readonly attempts: number;
  readonly status?: number;
  constructor(message: string, opts: { model: string; attempts: number; status?: number; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = 'EngineError';
    this.model = opts.model;
    this.attempts = opts.attempts;
    this.status = opts.status;
  }
}

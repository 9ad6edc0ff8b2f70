/** An operational queue error (Redis unreachable, unknown or lost job): one line, exit code 5. */
export class QueueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueError';
  }
}

/** What to do when Redis lost data: printed wherever a job turns out to be gone. */
export const DURABILITY_HINT =
  'Redis keeps jobs across a restart only with persistence: run it with `appendonly yes` (docs/operations.md), then enqueue the job again';

/**
 * A job name already taken by another input, or a worker whose config differs from the config
 * that produced the job's results: refused like an output written by another config or input
 * (exit code 3).
 */
export class JobMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobMismatchError';
  }
}

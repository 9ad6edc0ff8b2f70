import type { DocumentContext } from '../core/context.js';
import { InputError } from '../core/errors.js';
import type { Token } from '../core/types.js';

/** Redis key layout of one job. Results are keyed by input position, so retries overwrite, never duplicate. */
export const DEFAULT_QUEUE = 'el4ner';

export function jobKeys(job: string) {
  const base = `el4ner:job:${job}`;
  return {
    /**
     * total, batchSize, maxAttempts, created, input (sha256 of the input, src/run/fingerprint.ts),
     * config and configParts (the fingerprint of the config of the workers that store results),
     * retryRound (times --retry-parked moved documents back), firstDone, lastDone
     */
    meta: `${base}:meta`,
    /** input index -> output row (JSON) */
    results: `${base}:results`,
    /** input index -> {id, error, attempts} for documents that failed every attempt */
    parked: `${base}:parked`,
    /** input index -> failed attempts so far */
    fails: `${base}:fails`,
    /** worker id -> cost summary (JSON), overwritten after every batch */
    costs: `${base}:costs`,
  };
}

/** A bad --job is a command-line error (exit code 2), like any other bad argument. */
export function validateJobName(job: string): string {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(job)) {
    throw new InputError(`job name "${job}" must be 1-100 letters, digits, _ . - (--job)`);
  }
  return job;
}

export interface BatchData {
  job: string;
  /** Input index of the first document of the batch. */
  offset: number;
  /** What `el4ner run` gives the method too: the input's tokens (CoNLL, pre-tokenised JSONL) included. */
  docs: QueuedDocument[];
}

export interface QueuedDocument {
  id: string;
  text: string;
  tokens?: Token[];
  meta?: Record<string, unknown>;
  /** Its context in the input (src/core/context.ts), computed when enqueued: a worker sees one batch. */
  context?: DocumentContext;
}

/** The part of an input document that travels through the queue (never its gold entities or tags). */
export function queuedDocument(d: QueuedDocument): QueuedDocument {
  return {
    id: d.id,
    text: d.text,
    ...(d.tokens?.length ? { tokens: d.tokens } : {}),
    ...(d.meta ? { meta: d.meta } : {}),
    ...(d.context ? { context: d.context } : {}),
  };
}

/** Redis key layout of one job. Results are keyed by input position, so retries overwrite, never duplicate. */
export const DEFAULT_QUEUE = 'el4ner';

export function jobKeys(job: string) {
  const base = `el4ner:job:${job}`;
  return {
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

export function validateJobName(job: string): string {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(job)) {
    throw new Error(`job name "${job}" must be 1-100 letters, digits, _ . -`);
  }
  return job;
}

export interface BatchData {
  job: string;
  /** Input index of the first document of the batch. */
  offset: number;
  docs: { id: string; text: string; meta?: Record<string, unknown> }[];
}

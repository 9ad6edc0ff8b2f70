/** In-memory batch jobs of the HTTP service (POST /v1/ner/jobs, GET /v1/ner/jobs/:id). */
import { randomUUID } from 'node:crypto';
import type { NerDocument } from '../core/types.js';

export interface Job {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed';
  total: number;
  done: number;
  created: number;
  finished?: number;
  results?: NerDocument[];
  error?: string;
}

export class JobStore {
  private readonly jobs = new Map<string, Job>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly maxJobs = 1000) {}

  /** Runs jobs one after another in the background; `run` reports progress through `onDone`. */
  start(
    texts: string[],
    run: (docs: NerDocument[], onDone: (n: number) => void) => Promise<NerDocument[]>,
  ): Job {
    this.evict();
    const job: Job = {
      id: randomUUID(),
      status: 'queued',
      total: texts.length,
      done: 0,
      created: Date.now(),
    };
    this.jobs.set(job.id, job);
    const docs = texts.map((text, i) => ({ id: String(i + 1), text, entities: [] }));
    this.chain = this.chain.then(async () => {
      job.status = 'running';
      try {
        job.results = await run(docs, (n) => {
          job.done += n;
        });
        job.done = job.total;
        job.status = 'done';
      } catch (e) {
        job.status = 'failed';
        job.error = e instanceof Error ? e.message : String(e);
      }
      job.finished = Date.now();
    });
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Resolves when every job started so far has finished. */
  idle(): Promise<void> {
    return this.chain;
  }

  private evict(): void {
    if (this.jobs.size < this.maxJobs) return;
    for (const [id, j] of this.jobs) {
      if (j.status === 'done' || j.status === 'failed') {
        this.jobs.delete(id);
        if (this.jobs.size < this.maxJobs) return;
      }
    }
  }
}

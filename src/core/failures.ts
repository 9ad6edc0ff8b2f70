/**
 * What went wrong on the way, kept in one shape everywhere: a failed model call (after its
 * retries), an answer that had to be repaired, a stage skipped for a document. Methods keep one
 * FailureLog per run; output documents carry their own `warnings`.
 */

/** Calls of one model in one stage that failed, with the last error. */
export interface ModelFailure {
  model: string;
  stage: string;
  count: number;
  lastError: string;
  /** How many of these calls were not sent: refused at once by the model's open circuit breaker. */
  refused?: number;
}

/** One thing a reader of an output row should know about how it was produced. */
export interface DocumentWarning {
  /**
   * failed: a model call failed for good (its vote or verdict is missing);
   * repaired: an answer was usable only after repair (items dropped, types mapped, re-asked);
   * fallback: the document was tagged by the supervised tagger because no LLM answered;
   * skipped: a stage did not run for this document;
   * unanswered: no model answered at all: the row has no entities and an `error`.
   */
  kind: 'failed' | 'repaired' | 'fallback' | 'skipped' | 'unanswered';
  stage: string;
  model?: string;
  message: string;
  /** The cause in a few words (`HTTP 401 ...`, `connection refused ...`, `timed out ...`). */
  cause?: string;
}

/** Warning kinds that mean something was lost (a repaired answer alone is not a loss). */
const DEGRADING: ReadonlySet<DocumentWarning['kind']> = new Set([
  'failed',
  'fallback',
  'skipped',
  'unanswered',
]);

/** Whether these warnings mean the document's output is degraded. */
export function isDegraded(warnings: readonly DocumentWarning[] | undefined): boolean {
  return !!warnings?.some((w) => DEGRADING.has(w.kind));
}

/** The cause of a failure in a few words: the engine's own summary, else the error's first words. */
export function causeOf(e: unknown): string {
  const reason = (e as { reason?: unknown } | null)?.reason;
  if (typeof reason === 'string' && reason) return reason;
  return describeError(e).slice(0, 160);
}

/** Short, single-line description of an error, for logs and reports. */
export function describeError(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.replace(/\s+/g, ' ').slice(0, 300);
}

/** A call refused before any request went out (the model's circuit breaker is open): by name, as the CLI classifies errors. */
export function isRefusal(e: unknown): boolean {
  return e instanceof Error && e.name === 'CircuitOpenError';
}

export class FailureLog {
  private readonly byKey = new Map<string, ModelFailure>();

  record(model: string, stage: string, error: unknown): void {
    const key = `${model}\u0000${stage}`;
    const f = this.byKey.get(key) ?? { model, stage, count: 0, lastError: '' };
    f.count++;
    if (isRefusal(error)) f.refused = (f.refused ?? 0) + 1;
    f.lastError = describeError(error);
    this.byKey.set(key, f);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Failures sorted by model, then stage. */
  list(): ModelFailure[] {
    return [...this.byKey.values()]
      .map((f) => ({ ...f }))
      .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : a.stage < b.stage ? -1 : 1));
  }

  /** One log line per failure. */
  lines(): string[] {
    return this.list().map(
      (f) => `model ${f.model} failed ${f.count} time(s) in stage ${f.stage}: ${f.lastError}`,
    );
  }
}

/** An error in user input that points at the file and line where it is. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(file ? `${file}${line !== undefined ? `:${line}` : ''}: ${message}` : message);
    this.name = 'InputError';
  }
}

/** An error in the configuration file, pointing at the key. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * No configured model answered for a document and nothing stands in for them (HTTP 503 in the
 * server). Never a silently empty answer.
 */
export class NoAnswerError extends Error {
  readonly statusCode = 503;
  constructor(
    message: string,
    readonly documentId: string,
    readonly failures: ReadonlyArray<{
      model: string;
      stage: string;
      count: number;
      lastError: string;
      refused?: number;
    }> = [],
  ) {
    super(message);
    this.name = 'NoAnswerError';
  }

  /**
   * No request was sent for it: every failed call was refused by an open circuit breaker (the
   * models are down, or were moments ago). Asking again after the breakers' cooldown may answer.
   */
  get notSent(): boolean {
    return this.failures.length > 0 && this.failures.every((f) => (f.refused ?? 0) >= f.count);
  }
}

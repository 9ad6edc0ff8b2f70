/** A model answer from which nothing usable could be read, even after asking again. */
export class SchemaError extends Error {
  constructor(
    message: string,
    /** The raw answer that failed. */
    readonly text: string,
    readonly model?: string,
    /** Requests made before giving up (the re-asks included), when known. */
    readonly requests?: number,
  ) {
    super(message);
    this.name = 'SchemaError';
  }
}

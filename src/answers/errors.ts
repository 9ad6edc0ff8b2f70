/** A model answer from which nothing usable could be read, even after asking again. */
export class SchemaError extends Error {
  constructor(
    message: string,
    /** The raw answer that failed. */
    readonly text: string,
    readonly model?: string,
  ) {
    super(message);
    this.name = 'SchemaError';
  }
}

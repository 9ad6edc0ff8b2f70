/** A file of a model folder that cannot be used, naming the file and the key inside it. */
export class ModelFolderError extends Error {
  constructor(
    readonly file: string,
    readonly key: string | undefined,
    message: string,
  ) {
    super(`${file}: ${key ? `${key}: ` : ''}${message}`);
    this.name = 'ModelFolderError';
  }
}

/** An option of the `{kind: onnx}` SLM spec that cannot hold (e.g. maxLength above the model's). */
export class SlmOptionError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
    this.name = 'SlmOptionError';
  }
}

/**
 * Ctrl-C (SIGINT) and SIGTERM for long commands: the first signal runs `cleanup` (stop the
 * progress bar, which gives the terminal its cursor back; close the output; say what was written
 * and how to resume), then exits with 128 + the signal number. A second signal exits at once.
 */
const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

export function onInterrupt(cleanup: (signal: keyof typeof CODES) => void | Promise<void>): () => void {
  let stopping = false;
  const handler = (signal: keyof typeof CODES) => {
    if (stopping) process.exit(CODES[signal]);
    stopping = true;
    Promise.resolve()
      .then(() => cleanup(signal))
      .catch((e) => process.stderr.write(`el4ner: while stopping: ${(e as Error).message}\n`))
      .finally(() => process.exit(CODES[signal]));
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}

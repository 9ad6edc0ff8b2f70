import { basename } from 'node:path';
import { type DecodeOptions, decodedPieces } from './decode.js';

/**
 * Yields [1-based line number, line] with the line ending (`\n` or `\r\n`) removed. Streams the
 * file ('-' = stdin) through the checked decoder (src/formats/decode.ts): a byte-order mark is
 * dropped, invalid or binary input is an error with its line and byte offset, and a line may be
 * of any length.
 */
export async function* readLines(file: string, opts: DecodeOptions = {}): AsyncGenerator<[number, string]> {
  let n = 0;
  let partial = '';
  for await (const piece of decodedPieces(file, opts)) {
    let from = 0;
    for (let nl = piece.indexOf('\n'); nl >= 0; nl = piece.indexOf('\n', from)) {
      const line = partial + piece.slice(from, nl);
      partial = '';
      from = nl + 1;
      yield [++n, line.endsWith('\r') ? line.slice(0, -1) : line];
    }
    partial += piece.slice(from);
  }
  if (partial !== '') yield [++n, partial.endsWith('\r') ? partial.slice(0, -1) : partial];
}

/** The file name without folder and without its last extension: `data/test.jsonl` -> `test`. */
export function fileStem(file: string): string {
  if (file === '-') return 'stdin';
  const b = basename(file);
  const dot = b.lastIndexOf('.');
  return dot > 0 ? b.slice(0, dot) : b;
}

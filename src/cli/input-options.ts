/** The input options every command that reads documents shares: --from and --encoding. */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { checkEncoding } from '../formats/decode.js';
import { INPUT_FORMATS, type InputFormat } from '../formats/types.js';

export interface InputFlags {
  from?: string;
  encoding?: string;
}

export const FORMAT_LIST = INPUT_FORMATS.join(', ');

export function addInputOptions(cmd: Command): Command {
  return addEncodingOption(
    cmd.option(
      '--from <format>',
      `input format: ${INPUT_FORMATS.join('|')} (default: detected; stdin: jsonl; lines = one document per line of a text file)`,
    ),
  );
}

export const ENCODING_FLAG = '--encoding <name>';

/** The help of --encoding; `subject` says which files it decodes. */
export const encodingHelp = (subject = 'input encoding') =>
  `${subject}, e.g. latin1, windows-1252, utf-16le (default: UTF-8, invalid bytes refused)`;

/** --encoding alone, for commands with their own format options (score) or none (eval). */
export function addEncodingOption(cmd: Command, subject?: string): Command {
  return cmd.option(ENCODING_FLAG, encodingHelp(subject));
}

/** Checks --from (a known format) and --encoding (a known encoding). */
export function inputReadOptions(flags: InputFlags): { format?: InputFormat; encoding?: string } {
  if (flags.from !== undefined && !(INPUT_FORMATS as readonly string[]).includes(flags.from))
    throw new InputError(`--from must be one of ${FORMAT_LIST}; got ${JSON.stringify(flags.from)}`);
  if (flags.encoding !== undefined) checkEncoding(flags.encoding);
  return {
    ...(flags.from !== undefined ? { format: flags.from as InputFormat } : {}),
    ...(flags.encoding !== undefined ? { encoding: flags.encoding } : {}),
  };
}

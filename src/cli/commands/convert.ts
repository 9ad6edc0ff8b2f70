import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import type { OffsetUnit } from '../../core/offsets.js';
import type { TagScheme } from '../../core/types.js';
import { inputName } from '../../formats/decode.js';
import { OUTPUT_FORMATS } from '../../formats/types.js';
import { addInputOptions, type InputFlags, inputReadOptions } from '../input-options.js';

const SCHEMES: readonly TagScheme[] = ['BIO', 'IOB1', 'BIOES', 'BMES'];

interface ConvertFlags extends InputFlags {
  to?: string;
  scheme?: string;
  tokenCol?: string;
  tagCol?: string;
  sep?: string;
  offsets?: string;
  outOffsets?: string;
  skipDiscontinuous?: boolean;
}

function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value))
    throw new InputError(`--${name} must be an integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

function offsetsOption(name: string, value: string | undefined): OffsetUnit | undefined {
  if (value === undefined) return undefined;
  if (value !== 'utf16' && value !== 'codepoint')
    throw new InputError(`--${name} must be utf16 or codepoint; got ${JSON.stringify(value)}`);
  return value;
}

function sepOption(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === '\\t' || value === 'tab') return 'tab';
  if (value === 'space' || value === 'whitespace') return 'whitespace';
  if (value === '') throw new InputError('--sep is empty: give whitespace, tab or the separator string');
  return value;
}

export function register(program: Command): void {
  const cmd = program
    .command('convert')
    .description(
      'convert NER data between formats (jsonl, conll, spacy, brat, text -> jsonl, conll, spacy, brat)',
    )
    .argument(
      '<input>',
      'input file or folder (brat/text: a folder or one file); "-" reads stdin (JSONL unless --from)',
    )
    .argument('<output>', 'output file, or a folder for brat; "-" writes jsonl/conll/spacy to stdout')
    .option(
      '--to <format>',
      `output format: ${OUTPUT_FORMATS.join('|')} (default: from the output extension)`,
    )
    .option(
      '--scheme <scheme>',
      'CoNLL output tag scheme: BIO|IOB1|BIOES|BMES (default: the input tags, else BIO)',
    )
    .option('--token-col <n>', 'CoNLL token column, 0-based, negative from the end (default 0)')
    .option('--tag-col <n>', 'CoNLL tag column, 0-based, negative from the end (default -1)')
    .option(
      '--sep <sep>',
      'CoNLL column separator: whitespace|tab|<string> (default whitespace; writes one space)',
    )
    .option(
      '--offsets <unit>',
      'input offset unit: utf16|codepoint (default: utf16 for jsonl, codepoint for spacy/brat)',
    )
    .option('--out-offsets <unit>', 'output offset unit (default as for input of that format)')
    .option('--skip-discontinuous', 'brat: skip discontinuous entities with a warning instead of failing');
  addInputOptions(cmd).action(async (input: string, output: string, flags: ConvertFlags) => {
    const { isOutputFormat, readDocuments, writeDocuments, formatDocuments, outputFormatOf } = await import(
      '../../formats/index.js'
    );
    const read = inputReadOptions(flags);
    if (flags.to !== undefined && !isOutputFormat(flags.to)) {
      throw new InputError(
        `--to must be one of ${OUTPUT_FORMATS.join(', ')}; got ${JSON.stringify(flags.to)}`,
      );
    }
    let scheme: TagScheme | undefined;
    if (flags.scheme !== undefined) {
      const s = flags.scheme.toUpperCase() === 'IOB2' ? 'BIO' : flags.scheme.toUpperCase();
      if (!SCHEMES.includes(s as TagScheme))
        throw new InputError(
          `--scheme must be one of ${SCHEMES.join(', ')}; got ${JSON.stringify(flags.scheme)}`,
        );
      scheme = s as TagScheme;
    }
    const conll = {
      tokenCol: intOption('token-col', flags.tokenCol),
      tagCol: intOption('tag-col', flags.tagCol),
      sep: sepOption(flags.sep),
    };
    const to =
      (flags.to as 'jsonl' | 'conll' | 'spacy' | 'brat' | undefined) ??
      (output === '-' ? 'jsonl' : outputFormatOf(output));
    if (!to) throw new InputError(`cannot tell the output format from ${JSON.stringify(output)}; give --to`);
    if (output !== '-') {
      const { prepareOutputFile, prepareOutputFolder } = await import('../../run/output-path.js');
      if (to === 'brat' && !/\.(ann|txt)$/.test(output)) prepareOutputFolder(output);
      else prepareOutputFile(output);
    }
    let warnings = 0;
    const docs = await readDocuments(input, {
      ...read,
      offsets: offsetsOption('offsets', flags.offsets),
      discontinuous: flags.skipDiscontinuous ? 'skip' : 'error',
      onWarning: (w) => {
        warnings++;
        process.stderr.write(
          `el4ner: warning: ${w.file}${w.line !== undefined ? `:${w.line}` : ''}: ${w.message}\n`,
        );
      },
      ...conll,
    });
    const writeOptions = {
      format: to,
      scheme,
      offsets: offsetsOption('out-offsets', flags.outOffsets),
      ...conll,
    };
    // what the writers refuse is a document of the input (nested entities for CoNLL, ...): name its file
    const inInput = (e: unknown) =>
      e instanceof InputError && e.file === undefined ? new InputError(e.message, inputName(input)) : e;
    if (output === '-') {
      if (to === 'brat') throw new InputError('brat output needs a folder or a .ann path, not stdout');
      // `el4ner convert ... - | head` closes the pipe early: not an error.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(0);
        throw err;
      });
      let text: string;
      try {
        text = formatDocuments(docs, { ...writeOptions, format: to });
      } catch (e) {
        throw inInput(e);
      }
      process.stdout.write(text);
    } else {
      await writeDocuments(output, docs, writeOptions).catch((e) => {
        throw inInput(e);
      });
    }
    const entities = docs.reduce((n, d) => n + d.entities.length, 0);
    process.stderr.write(
      `convert: ${docs.length} documents, ${entities} entities -> ${output === '-' ? 'stdout' : output} (${to})` +
        (warnings ? `, ${warnings} warning(s)` : '') +
        '\n',
    );
  });
}

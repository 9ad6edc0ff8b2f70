/** `el4ner score`: entity-level, MUC-style and token-level scores of predictions against gold. */

import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { INPUT_FORMATS } from '../../formats/types.js';
import { nonNegativeInt } from '../args.js';
import { readGold } from '../gold-input.js';
import { addEncodingOption, inputReadOptions } from '../input-options.js';
import { checkMatch, MATCH_HELP, matchBy } from '../match-option.js';

interface ScoreOptions {
  gold: string;
  pred: string;
  goldFormat?: string;
  predFormat?: string;
  match: string;
  json?: boolean;
  bootstrap: number;
  seed: number;
  against?: string;
  againstFormat?: string;
  encoding?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('score')
    .description('score predicted entities against gold entities')
    .requiredOption('--gold <file>', 'gold documents')
    .requiredOption('--pred <file>', 'predicted documents; a gold document without one counts as empty')
    .option('--gold-format <format>', `format of --gold: ${INPUT_FORMATS.join('|')} (default: detected)`)
    .option('--pred-format <format>', `format of --pred: ${INPUT_FORMATS.join('|')} (default: detected)`)
    .option('--match <how>', MATCH_HELP, 'auto')
    .option('--json', 'print the report as JSON')
    .option(
      '--bootstrap <n>',
      'bootstrap resamples for the micro-F1 95% CI (0 turns it off)',
      nonNegativeInt,
      1000,
    )
    .option('--seed <n>', 'seed of the bootstrap resampling', nonNegativeInt, 42)
    .option(
      '--against <file>',
      "another system's predictions of the same documents: the F1 difference with a paired bootstrap CI",
    )
    .option(
      '--against-format <format>',
      `format of --against: ${INPUT_FORMATS.join('|')} (default: detected)`,
    );
  addEncodingOption(cmd, 'encoding of every file read').action(async (opts: ScoreOptions) => {
    const { detectFormat, isInputFormat, readDocuments } = await import('../../formats/index.js');
    const { evaluate, formatReport } = await import('../../eval/index.js');
    checkMatch(opts.match);
    const { encoding } = inputReadOptions({ encoding: opts.encoding });
    const formatOf = async (file: string, format: string | undefined, flag: string) => {
      if (format === undefined) return detectFormat(file, { encoding });
      if (!isInputFormat(format)) {
        throw new InputError(
          `--${flag} must be one of ${INPUT_FORMATS.join(', ')}; got ${JSON.stringify(format)}`,
        );
      }
      return format;
    };
    const goldFormat = await formatOf(opts.gold, opts.goldFormat, 'gold-format');
    const predFormat = await formatOf(opts.pred, opts.predFormat, 'pred-format');
    const againstFormat =
      opts.against === undefined
        ? undefined
        : await formatOf(opts.against, opts.againstFormat, 'against-format');
    const gold = await readGold(opts.gold, '--gold', { format: goldFormat, encoding });
    const pred = await readDocuments(opts.pred, { format: predFormat, encoding });
    const against =
      opts.against === undefined
        ? undefined
        : await readDocuments(opts.against, { format: againstFormat, encoding });
    if (gold.length === 0) throw new InputError('no gold documents to score against', opts.gold);
    if (pred.length === 0)
      process.stderr.write(
        `el4ner: warning: ${opts.pred} has no documents: every gold entity counts as missed\n`,
      );
    const report = evaluate(gold, pred, {
      goldFile: opts.gold,
      predFile: opts.pred,
      matchBy: matchBy(opts.match, goldFormat, predFormat, againstFormat),
      bootstrap: opts.bootstrap,
      seed: opts.seed,
      ...(against ? { against: { docs: against, file: opts.against } } : {}),
    });
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  });
}

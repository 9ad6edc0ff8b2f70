import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { ENCODING_FLAG, encodingHelp, inputReadOptions } from '../input-options.js';

interface EnsembleFlags {
  encoding?: string;
  pred: string[];
  output: string;
  strategy: string;
  minVotes?: string;
  weights?: string;
  names?: string;
  overlaps: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function register(program: Command): void {
  program
    .command('ensemble')
    .description("combine the outputs of several NER systems with EL4NER's union / voting code")
    .requiredOption(
      '--pred <file>',
      'a prediction file (JSONL, CoNLL, ...); repeat for every system',
      collect,
    )
    .requiredOption('--output <file>', 'combined predictions (JSONL; "-" = stdout)')
    .option('--strategy <s>', 'union | vote | span-vote-then-type', 'vote')
    .option('--min-votes <n>', 'votes (summed weights) needed to keep an entity; default: a strict majority')
    .option('--weights <list>', 'one weight per --pred, comma-separated, e.g. 1,1,2')
    .option('--names <list>', 'system names used in the sources, comma-separated (default: the file names)')
    .option(
      '--overlaps <policy>',
      'flat: of overlapping entities the best-voted is kept | nested: all are kept | auto: nested when a system output overlaps',
      'auto',
    )
    .option(ENCODING_FLAG, encodingHelp('encoding of every --pred'))
    .action(async (flags: EnsembleFlags) => {
      const read = inputReadOptions({ encoding: flags.encoding });
      const [
        { readDocuments },
        { combinePredictionFiles, ensembleOverlapPolicy },
        { writeFile },
        { prepareOutputFile },
      ] = await Promise.all([
        import('../../formats/index.js'),
        import('../../el4ner/voting/prediction-files.js'),
        import('node:fs/promises'),
        import('../../run/output-path.js'),
      ]);
      prepareOutputFile(flags.output);
      if (!['union', 'vote', 'span-vote-then-type'].includes(flags.strategy))
        throw new InputError('--strategy must be union, vote or span-vote-then-type');
      if (flags.pred.length < 2) throw new InputError('give at least two --pred files');
      if (!['auto', 'flat', 'nested'].includes(flags.overlaps))
        throw new InputError('--overlaps must be auto, flat or nested');
      let weights: number[] | undefined;
      if (flags.weights !== undefined) {
        weights = flags.weights.split(',').map((w) => (w.trim() === '' ? Number.NaN : Number(w)));
        if (weights.length !== flags.pred.length || weights.some((w) => !Number.isFinite(w) || w < 0))
          throw new InputError(
            `--weights needs ${flags.pred.length} non-negative numbers, got ${JSON.stringify(flags.weights)}`,
          );
      }
      const totalWeight = weights ? weights.reduce((a, w) => a + w, 0) : flags.pred.length;
      let minVotes: number | undefined;
      if (flags.minVotes !== undefined) {
        minVotes = Number(flags.minVotes);
        if (!Number.isFinite(minVotes) || minVotes <= 0)
          throw new InputError('--min-votes must be a positive number');
        if (minVotes > totalWeight)
          throw new InputError(
            `--min-votes ${flags.minVotes} is more than the systems' total weight (${totalWeight}): no entity could be kept`,
          );
      }
      const names = flags.names?.split(',').map((n) => n.trim());
      // votes are counted by name: two systems under one name would count one system's votes twice
      if (names && (names.length !== flags.pred.length || names.some((n, i) => !n || names.indexOf(n) !== i)))
        throw new InputError(
          `--names needs ${flags.pred.length} distinct names, got ${JSON.stringify(flags.names)}`,
        );
      const systems = [];
      for (const file of flags.pred) systems.push({ file, docs: await readDocuments(file, read) });
      const overlaps = ensembleOverlapPolicy(systems, flags.overlaps as 'auto' | 'flat' | 'nested');
      const out = combinePredictionFiles(systems, {
        strategy: flags.strategy as 'union' | 'vote' | 'span-vote-then-type',
        minVotes,
        weights,
        names,
        overlaps,
      });
      const rows = out
        .map((d) => `${JSON.stringify({ id: d.id, text: d.text, entities: d.entities })}\n`)
        .join('');
      if (flags.output === '-') process.stdout.write(rows);
      else await writeFile(flags.output, rows);
      process.stderr.write(
        `el4ner: ${out.length} document(s) from ${systems.length} systems written to ${flags.output === '-' ? 'stdout' : flags.output} (overlaps: ${overlaps === 'flat' ? 'the best-voted span of overlapping ones kept' : 'all kept'})\n`,
      );
    });
}

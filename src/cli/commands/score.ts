/** `el4ner score`: entity-level, MUC-style and token-level scores of predictions against gold. */
import { type Command, InvalidArgumentError } from 'commander';

function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

interface ScoreOptions {
  gold: string;
  pred: string;
  json?: boolean;
  bootstrap: number;
  seed: number;
}

export function register(program: Command): void {
  program
    .command('score')
    .description('score predicted entities against gold entities (documents matched by id)')
    .requiredOption('--gold <file>', 'gold documents (JSONL)')
    .requiredOption('--pred <file>', 'predicted documents (JSONL); a gold document without one counts as empty')
    .option('--json', 'print the report as JSON')
    .option('--bootstrap <n>', 'bootstrap resamples for the micro-F1 95% CI (0 turns it off)', nonNegativeInt, 1000)
    .option('--seed <n>', 'seed of the bootstrap resampling', nonNegativeInt, 42)
    .action(async (opts: ScoreOptions) => {
      const { readJsonlDocuments } = await import('../../eval/read-jsonl.js');
      const { evaluate, formatReport } = await import('../../eval/index.js');
      const gold = await readJsonlDocuments(opts.gold);
      const pred = await readJsonlDocuments(opts.pred);
      const report = evaluate(gold, pred, {
        goldFile: opts.gold,
        predFile: opts.pred,
        bootstrap: opts.bootstrap,
        seed: opts.seed,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    });
}

import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { addPipelineOptions, type PipelineFlags } from '../../pipeline/cli-options.js';

interface EvalFlags extends PipelineFlags {
  test: string;
  limit?: string;
  report?: string;
}

export function register(program: Command): void {
  addPipelineOptions(
    program
      .command('eval')
      .description(
        'run the EL4NER pipeline on a labelled set and report every stage (recall, typing, verification, F1, cost)',
      )
      .requiredOption('--test <file>', 'labelled documents (JSONL, CoNLL, ...)')
      .option('--limit <n>', 'only the first N documents')
      .option('--report <file>', 'write the full report as JSON'),
  ).action(async (flags: EvalFlags) => {
    const [
      { loadConfig },
      { readDocuments },
      { createPipeline },
      { pipelineSettings },
      { formatPipelineReport },
    ] = await Promise.all([
      import('../../config/load.js'),
      import('../../formats/index.js'),
      import('../../pipeline/el4ner.js'),
      import('../../pipeline/cli-options.js'),
      import('../../pipeline/report.js'),
    ]);
    let limit: number | undefined;
    if (flags.limit !== undefined) {
      if (!/^\d+$/.test(flags.limit))
        throw new InputError(`--limit must be a non-negative integer, got ${JSON.stringify(flags.limit)}`);
      limit = Number(flags.limit);
    }
    const config = loadConfig(flags.config);
    const gold = await readDocuments(flags.test);
    const pipeline = createPipeline({ config, ...pipelineSettings(flags) });
    try {
      const report = await pipeline.evaluate(gold, { limit });
      if (flags.report) await writeFile(flags.report, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`${formatPipelineReport(report)}\n`);
      process.stderr.write(`${pipeline.formatCost()}\n`);
    } finally {
      await pipeline.close();
    }
  });
}

import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { addSlmOption, type ConfigOrSlmFlags, configOrSlm } from '../config-or-slm.js';
import { readGold, warnTypesNotGiven } from '../gold-input.js';
import { addEncodingOption, inputReadOptions } from '../input-options.js';
import { addMethodOptions, type MethodFlags } from '../method-options.js';

interface EvalFlags extends MethodFlags, ConfigOrSlmFlags {
  test: string;
  limit?: string;
  report?: string;
  dev?: string;
  encoding?: string;
}

export function register(program: Command): void {
  addSlmOption(
    addMethodOptions(
      addEncodingOption(
        program
          .command('eval')
          .description(
            'evaluate the configured method on a labelled set: EL4NER per-stage report (recall, typing, verification, F1, cost); fusion: SLM alone / LLM alone / fused; the CRF alone: strict, span and token scores',
          )
          .requiredOption('--test <file>', 'labelled documents (JSONL, CoNLL, ...)')
          .option('--limit <n>', 'only the first N documents')
          .option('--report <file>', 'write the full report as JSON')
          .option(
            '--dev <file>',
            "fusion: labelled documents to choose lambda on when fusion.lambda is 'auto' (default: fusion.dev)",
          ),
        'encoding of --test and --dev',
      ),
    ),
  ).action(async (flags: EvalFlags) => {
    const [{ writeWholeFile }, { createMethod }, { methodSettings }, degraded] = await Promise.all([
      import('../../core/write-file.js'),
      import('../../assemble/index.js'),
      import('../method-options.js'),
      import('../../run/degraded.js'),
    ]);
    let limit: number | undefined;
    if (flags.limit !== undefined) {
      if (!/^\d+$/.test(flags.limit) || Number(flags.limit) === 0)
        throw new InputError(`--limit must be a positive integer, got ${JSON.stringify(flags.limit)}`);
      limit = Number(flags.limit);
    }
    if (flags.report === '-')
      throw new InputError(
        '--report -: the report is a JSON file, give its path (the scores are printed on stdout)',
      );
    const read = inputReadOptions({ encoding: flags.encoding });
    const config = await configOrSlm(flags);
    if (flags.report) (await import('../../run/output-path.js')).prepareOutputFile(flags.report, 'report');
    const gold = await readGold(flags.test, '--test', read);
    if (gold.length === 0) throw new InputError('no documents to evaluate on', flags.test);
    const dev = flags.dev ? await readGold(flags.dev, '--dev', read) : undefined;
    const method = await createMethod(config, { ...methodSettings(flags), ...(dev ? { dev } : {}) });
    try {
      if (dev && method.info.kind !== 'fusion')
        process.stderr.write(`el4ner: --dev is only used by fusion with lambda 'auto'\n`);
      warnTypesNotGiven(limit === undefined ? gold : gold.slice(0, limit), method.info.labels);
      // as in `el4ner run`: a document no model answered for is scored (no entities) and counted
      const report = await method.evaluate(gold, { limit, unanswered: 'row' });
      process.stdout.write(`${report.text}\n`);
      if (flags.report) {
        await writeWholeFile(
          flags.report,
          `${JSON.stringify({ kind: report.kind, ...(report.details as object), degradedDocuments: report.degraded, unansweredDocuments: report.unanswered, ...(report.tuning ? { degradedDevDocuments: report.tuning.degraded } : {}), ...(report.kind === 'fusion' ? { cost: method.cost() } : {}) }, null, 2)}\n`,
        );
        process.stderr.write(`el4ner: report written to ${flags.report}\n`);
      }
      process.stderr.write(method.formatCost());
      const outcome = degraded.degradedScores([
        {
          what: flags.test,
          documents: report.documents,
          degraded: report.degraded,
          unanswered: report.unanswered,
        },
      ]);
      // lambda 'auto' chosen where the LLM failed on dev documents is a degraded choice
      const tuning = report.tuning
        ? degraded.degradedChoice(
            { what: flags.dev ?? config.fusion?.dev ?? 'the dev set', ...report.tuning },
            'lambda',
          )
        : { code: 0, lines: [] };
      for (const line of [...tuning.lines, ...outcome.lines]) process.stderr.write(`el4ner: ${line}\n`);
      process.exitCode = Math.max(tuning.code, outcome.code);
    } finally {
      await method.close();
    }
  });
}

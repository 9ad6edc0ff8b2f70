/**
 * `el4ner ablate`: the paper's ablation table in one command. Every row is the configured EL4NER
 * pipeline with one stage switched, built by `createMethod` with stage overrides over the same
 * engines (one response cache, so what one row asked is free for the next) and one demonstration
 * source; each row is scored on the labelled set. Writes a Markdown and a JSON table.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { positiveInt } from '../args.js';
import { readGold, warnTypesNotGiven } from '../gold-input.js';
import { ENCODING_FLAG, encodingHelp, inputReadOptions } from '../input-options.js';

interface AblateFlags {
  encoding?: string;
  config: string;
  test: string;
  out: string;
  rows?: string;
  limit?: number;
  cache?: string | boolean;
  concurrency?: number;
}

export function register(program: Command): void {
  program
    .command('ablate')
    .description(
      "run the paper's ablation rows (full; sentence-level retrieval; no retrieval; single extraction; single classification; no verification; no decomposition) on a labelled set; writes a Markdown and a JSON table with P/R/F1 and calls and tokens per sentence",
    )
    .requiredOption('--config <file>', 'configuration file (YAML or JSON) of an EL4NER pipeline')
    .requiredOption('--test <file>', 'labelled documents (JSONL, CoNLL, ...)')
    .option('--out <base>', 'write <base>.md and <base>.json', 'ablation')
    .option('--rows <list>', 'only these rows, comma-separated (default: all)')
    .option('--limit <n>', 'only the first N documents', positiveInt)
    .option('--cache <path>', 'response cache file (default: config cache.path)')
    .option('--no-cache', 'do not read or write the response cache')
    .option('--concurrency <n>', 'sentences processed at once (default: config concurrency)', positiveInt)
    .option(ENCODING_FLAG, encodingHelp('encoding of --test'))
    .action(async (flags: AblateFlags) => {
      const read = inputReadOptions({ encoding: flags.encoding });
      const [
        { loadConfig },
        { assembleEngines },
        assemble,
        ab,
        { createProgress },
        { onInterrupt },
        degraded,
      ] = await Promise.all([
        import('../../config/load.js'),
        import('../../assemble/engines.js'),
        import('../../assemble/index.js'),
        import('../../el4ner/ablation.js'),
        import('../../run/progress.js'),
        import('../interrupt.js'),
        import('../../run/degraded.js'),
      ]);
      const config = loadConfig(flags.config);
      if (assemble.methodKind(config) !== 'el4ner')
        throw new InputError(
          'ablate runs the EL4NER pipeline: the config must have LLM backbones (and no fusion.llm without fusion.voter)',
          flags.config,
        );
      let rows = ab.ABLATION_ROWS;
      if (flags.rows !== undefined) {
        const names = flags.rows
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean);
        if (names.length === 0)
          throw new InputError(`--rows: no row given; rows are ${rows.map((r) => r.name).join(', ')}`);
        const unknown = names.filter((n) => !rows.some((r) => r.name === n));
        if (unknown.length)
          throw new InputError(
            `--rows: no row ${unknown.join(', ')}; rows are ${rows.map((r) => r.name).join(', ')}`,
          );
        rows = rows.filter((r) => names.includes(r.name));
      }
      if (/[\\/]$/.test(flags.out))
        throw new InputError(
          '--out is a base name, not a folder: <base>.md and <base>.json are written',
          flags.out,
        );
      const { prepareOutputFile } = await import('../../run/output-path.js');
      prepareOutputFile(`${flags.out}.md`, 'Markdown table');
      prepareOutputFile(`${flags.out}.json`, 'JSON table');
      const all = await readGold(flags.test, '--test', read);
      const gold = flags.limit ? all.slice(0, flags.limit) : all;
      if (gold.length === 0) throw new InputError('no documents', flags.test);
      const noCache = flags.cache === false;
      const cachePath = typeof flags.cache === 'string' ? flags.cache : undefined;
      const engines = await assembleEngines(config, { noCache, cachePath });
      const log = (m: string) => process.stderr.write(`el4ner: ${m}\n`);
      const counter = new ab.UsageCounter();
      const counted = counter.wrap(engines.engines);
      const results: import('../../el4ner/ablation.js').AblationResult[] = [];
      let progress: import('../../run/progress.js').Progress | undefined;
      let current = '';
      const stopHandling = onInterrupt((signal) => {
        progress?.stop('stopped');
        log(
          `${signal}: stopped in the ${current} row, ${results.length} of ${rows.length} row(s) done; no table written`,
        );
      });
      try {
        const demos = await assemble.sharedDemoSource(config, {
          engines: engines.engines,
          noCache,
          cachePath,
          log,
        });
        for (const row of rows) {
          const t0 = Date.now();
          const before = counter.totals();
          const misses = engines.ledger.summary().total.calls;
          const method = await assemble.createMethod(config, {
            engines: { engines: counted, ledger: engines.ledger },
            ...(demos ? { demos } : {}),
            stages: row.stages,
            ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
            log: () => {},
          });
          // every row asks for the same labels: said once, before the first row is scored
          if (row === rows[0]) warnTypesNotGiven(gold, method.info.labels);
          current = row.name;
          progress = await createProgress({ total: gold.length, label: `row ${row.name}` });
          try {
            const report = await method.evaluate(gold, { onDocument: () => progress?.tick() });
            progress.stop();
            const usage = counter.since(before);
            const details = report.details as { sentences: number; failures: Array<{ count: number }> };
            const n = details.sentences || gold.length;
            const m = report.micro;
            results.push({
              row: row.name,
              description: row.description,
              p: m.p,
              r: m.r,
              f1: m.f1,
              tp: m.tp,
              fp: m.fp,
              fn: m.fn,
              sentences: n,
              perSentence: {
                calls: usage.calls / n,
                promptTokens: usage.promptTokens / n,
                completionTokens: usage.completionTokens / n,
              },
              usage,
              requests: engines.ledger.summary().total.calls - misses,
              seconds: (Date.now() - t0) / 1000,
              failures: details.failures.reduce((a, f) => a + f.count, 0),
              degraded: report.degraded,
            });
            const sent = engines.ledger.summary().total.calls - misses;
            const source = engines.cache
              ? `${sent} sent, ${usage.cached} from the cache`
              : `${sent} sent, response cache off`;
            log(
              `${row.name}: F1 ${(100 * m.f1).toFixed(2)}, ${(usage.calls / n).toFixed(2)} calls per sentence (${source}), ${((Date.now() - t0) / 1000).toFixed(1)} s`,
            );
          } finally {
            progress.stop('stopped');
            await method.close();
          }
        }
      } finally {
        stopHandling();
        await engines.close();
      }
      const failed = results.filter((r) => r.failures > 0);
      const notes = [
        `${gold.length} document(s) of ${flags.test}; config ${flags.config}. Strict micro P/R/F1 (%). Calls and tokens: what each row asked the models for, response-cache hits included.`,
        ...(failed.length
          ? [
              `Model failures (the model abstained): ${failed.map((r) => `${r.row} ${r.failures}`).join(', ')}.`,
            ]
          : []),
      ];
      await writeFile(`${flags.out}.md`, ab.ablationMarkdown(results, 'EL4NER ablation', notes));
      await writeFile(
        `${flags.out}.json`,
        `${JSON.stringify({ config: flags.config, test: flags.test, documents: gold.length, rows: results }, null, 2)}\n`,
      );
      process.stdout.write(ab.ablationMarkdown(results, 'EL4NER ablation', notes));
      log(`tables written to ${flags.out}.md and ${flags.out}.json`);
      // the tables are written; the exit code says when a row's score was degraded
      const outcome = degraded.degradedScores(
        results.map((r) => ({
          what: `row ${r.row}`,
          documents: gold.length,
          degraded: r.degraded,
          unanswered: 0,
        })),
      );
      for (const line of outcome.lines) log(line);
      process.exitCode = outcome.code;
    });
}

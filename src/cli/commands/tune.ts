/** `el4ner tune`: backbones, verifier, k and vote weights chosen on a dev sample within a call budget. */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { nonNegativeInt, positiveInt } from '../args.js';

interface TuneFlags {
  config: string;
  dev: string;
  budget: number;
  out: string;
  sample: number;
  seed: number;
  report?: string;
  cache?: string | boolean;
}

export function register(program: Command): void {
  program
    .command('tune')
    .description(
      'choose backbones, verifier, k and vote weights on a labelled dev sample within a budget of LLM calls; writes a runnable config',
    )
    .requiredOption('--config <file>', 'configuration file (YAML or JSON)')
    .requiredOption('--dev <file>', 'labelled dev documents')
    .requiredOption('--budget <calls>', 'most LLM calls to spend (cache hits are free)', positiveInt)
    .requiredOption('--out <file>', 'the tuned config (YAML)')
    .option('--sample <n>', 'dev sentences sampled', positiveInt, 20)
    .option('--seed <s>', 'sampling seed', nonNegativeInt, 13)
    .option('--report <file>', 'write every candidate with its dev scores and calls as JSON')
    .option('--cache <path>', 'response cache file (default: config cache.path)')
    .option('--no-cache', 'do not read or write the response cache')
    .action(async (flags: TuneFlags) => {
      const [
        { loadConfig },
        { readDocuments },
        { createEngines },
        t,
        { CallBudget, cachePeek },
        { seededSample },
        cf,
      ] = await Promise.all([
        import('../../config/load.js'),
        import('../../formats/index.js'),
        import('../../engines/registry.js'),
        import('../../experts/tune.js'),
        import('../../experts/budget.js'),
        import('../../experts/select.js'),
        import('../../experts/config-file.js'),
      ]);
      const config = loadConfig(flags.config);
      const { prepareOutputFile } = await import('../../run/output-path.js');
      prepareOutputFile(flags.out, 'tuned config');
      if (flags.report) prepareOutputFile(flags.report, 'report');
      const devDocs = await readDocuments(flags.dev);
      if (devDocs.length === 0) throw new InputError('no documents', flags.dev);
      const dev = seededSample(devDocs, flags.sample, flags.seed);
      const noCache = flags.cache === false;
      const cachePath = typeof flags.cache === 'string' ? flags.cache : undefined;
      const engines = await createEngines(config, { noCache, cachePath });
      const log = (m: string) => process.stderr.write(`el4ner: ${m}\n`);
      try {
        const result = await t.tune({
          config,
          dev,
          budget: new CallBudget(flags.budget, engines.ledger),
          engines: engines.engines,
          ledger: engines.ledger,
          cache: engines.cache !== undefined,
          isCached: cachePeek(config, engines.cache, engines.engines),
          log,
        });
        const raw = t.applySettingsRaw(cf.readRawConfig(flags.config), result.chosen, result.fusion);
        const f1 = (x: number | null | undefined) => (x == null ? '-' : (100 * x).toFixed(2));
        cf.writeDerivedConfig(
          flags.config,
          raw,
          flags.out,
          `el4ner tune on ${dev.length} sentence(s) of ${flags.dev} (seed ${flags.seed}), budget ${flags.budget}: dev strict F1 ${f1(result.fusion ? result.fusion.f1 : result.best?.f1)} (default ${f1(result.defaultF1)}), ${result.callsUsed} call(s)`,
        );
        loadConfig(flags.out);
        if (flags.report) await writeFile(flags.report, `${JSON.stringify(result, null, 2)}\n`);
        process.stdout.write(`${t.formatTune(result)}\n`);
        for (const n of result.notes) log(n);
      } finally {
        await engines.close();
      }
    });
}

/**
 * `el4ner tune`: backbones, verifier, k, the decision (rule, threshold, verification policy), vote
 * weights and a calibrated score chosen on a dev sample and checked on sentences the choice did not
 * see (cross-validated, or one held-out part), within a call budget.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { nonNegativeInt, numberInRange, positiveInt } from '../args.js';
import { readGold, warnTypesNotGiven } from '../gold-input.js';
import { ENCODING_FLAG, encodingHelp, inputReadOptions } from '../input-options.js';

interface TuneFlags {
  encoding?: string;
  config: string;
  dev: string;
  budget: number;
  out: string;
  sample: number;
  seed: number;
  report?: string;
  cache?: string | boolean;
  holdout: number;
  folds: number;
  confidence: number;
  kValues?: number[];
}

const fraction = (v: string) => numberInRange('--holdout', v, 0, 1, true);

const share = (v: string) => numberInRange('--confidence', v, 0, 1);

function intList(v: string): number[] {
  const xs = v.split(',').map((x) => x.trim());
  if (xs.some((x) => !/^\d+$/.test(x)))
    throw new InputError(`--k-values must be integers, e.g. 0,2,5 (got ${JSON.stringify(v)})`);
  return xs.map(Number);
}

export function register(program: Command): void {
  program
    .command('tune')
    .description(
      'choose backbones, verifier, k, the decision rule and threshold, the verification policy, vote weights and a calibrated score on a labelled dev sample, checked on sentences the choice did not see (cross-validated), within a budget of LLM calls; writes a runnable config',
    )
    .requiredOption('--config <file>', 'configuration file (YAML or JSON)')
    .requiredOption('--dev <file>', 'labelled dev documents')
    .requiredOption('--budget <calls>', 'most LLM calls to spend (cache hits are free)', positiveInt)
    .requiredOption('--out <file>', 'the tuned config (YAML)')
    .option('--sample <n>', 'dev sentences sampled', positiveInt, 20)
    .option('--seed <s>', 'sampling and split seed', nonNegativeInt, 13)
    .option(
      '--folds <n>',
      'cross-validation folds: the search chooses on all of the sample, and what it returns is checked by the same search on each fold left out (1: one split by --holdout)',
      positiveInt,
      2,
    )
    .option(
      '--holdout <fraction>',
      'with --folds 1: share of the sample held out to report on (0: choose and report on all)',
      fraction,
      0.5,
    )
    .option(
      '--confidence <share>',
      'paired bootstrap win share a change needs over the current best on the choosing part (0: any gain)',
      share,
      0.9,
    )
    .option(
      '--k-values <list>',
      'numbers of demonstrations to try, comma-separated (default 0,1,2,3,5,8,12,16)',
      intList,
    )
    .option('--report <file>', 'write every candidate with its dev scores and calls as JSON')
    .option('--cache <path>', 'response cache file (default: config cache.path)')
    .option('--no-cache', 'do not read or write the response cache')
    .option(ENCODING_FLAG, encodingHelp('encoding of --dev'))
    .action(async (flags: TuneFlags) => {
      const read = inputReadOptions({ encoding: flags.encoding });
      const [
        { loadConfig },
        { assembleEngines },
        t,
        { CallBudget, cachePeek },
        { seededSample },
        cf,
        { askedLabels, methodKind },
        { createProgress },
        { onInterrupt },
        { degradedScores },
      ] = await Promise.all([
        import('../../config/load.js'),
        import('../../assemble/engines.js'),
        import('../../experts/tune.js'),
        import('../../experts/budget.js'),
        import('../../experts/select.js'),
        import('../../experts/config-file.js'),
        import('../../assemble/index.js'),
        import('../../run/progress.js'),
        import('../interrupt.js'),
        import('../../run/degraded.js'),
      ]);
      const config = loadConfig(flags.config);
      if (methodKind(config) === 'slm')
        throw new InputError(
          'tune chooses the settings of the LLMs: the config has no `models` (a CRF alone has nothing to tune)',
          flags.config,
        );
      const { prepareOutputFile } = await import('../../run/output-path.js');
      prepareOutputFile(flags.out, 'tuned config');
      if (flags.report) prepareOutputFile(flags.report, 'report');
      const devDocs = await readGold(flags.dev, '--dev', read);
      if (devDocs.length === 0) throw new InputError('no documents', flags.dev);
      const dev = seededSample(devDocs, flags.sample, flags.seed);
      warnTypesNotGiven(dev, await askedLabels(config));
      const noCache = flags.cache === false;
      const cachePath = typeof flags.cache === 'string' ? flags.cache : undefined;
      const engines = await assembleEngines(config, { noCache, cachePath });
      const log = (m: string) => process.stderr.write(`el4ner: ${m}\n`);
      const budget = new CallBudget(flags.budget, engines.ledger);
      let progress: import('../../run/progress.js').Progress | undefined;
      let running: string | undefined;
      let tuned = false;
      const stopHandling = onInterrupt((signal) => {
        progress?.stop('stopped');
        if (!tuned)
          log(
            `${signal}: stopped${running ? ` in ${running}` : ''}, ${budget.used} of ${flags.budget} call(s) spent; nothing written`,
          );
      });
      try {
        const result = await t.tune({
          config,
          dev,
          budget,
          engines: engines.engines,
          ledger: engines.ledger,
          cache: engines.cache !== undefined,
          isCached: cachePeek(config, engines.cache, engines.engines),
          holdout: flags.holdout,
          folds: flags.folds,
          seed: flags.seed,
          confidence: flags.confidence,
          ...(flags.kValues ? { kValues: flags.kValues } : {}),
          log,
          progress: async (label, total) => {
            running = label;
            progress = await createProgress({ total, label });
            return progress;
          },
        });
        tuned = true;
        const raw = t.applySettingsRaw(
          cf.readRawConfig(flags.config),
          result.chosen,
          result.fusion,
          `${flags.dev}: ${result.split.choose} sentence(s) (seed ${flags.seed})`,
        );
        const f1 = (x: number | null | undefined) => (x == null ? '-' : (100 * x).toFixed(2));
        cf.writeDerivedConfig(
          flags.config,
          raw,
          flags.out,
          result.fusion
            ? `el4ner tune on ${dev.length} sentence(s) of ${flags.dev} (seed ${flags.seed}), budget ${flags.budget}: dev strict F1 ${f1(result.fusion.f1)} (default ${f1(result.defaultF1)}), ${result.callsUsed} call(s)`
            : `el4ner tune on ${dev.length} sentence(s) of ${flags.dev} (seed ${flags.seed}, ${result.split.folds ? `cross-validated in ${result.split.folds} folds` : `${result.split.choose} to choose on, ${result.split.heldOut} held out`}), budget ${flags.budget}: held-out strict F1 ${f1(result.heldOut.best?.f1)} (default ${f1(result.heldOut.default?.f1)}), ${result.callsUsed} call(s)`,
        );
        loadConfig(flags.out);
        if (flags.report) await writeFile(flags.report, `${JSON.stringify(result, null, 2)}\n`);
        process.stdout.write(`${t.formatTune(result)}\n`);
        for (const n of result.notes) log(n);
        // the tuned config is written; the exit code says when scores it rests on were degraded
        const outcome = degradedScores(result.degraded);
        for (const line of outcome.lines) log(line);
        process.exitCode = outcome.code;
      } finally {
        stopHandling();
        await engines.close();
      }
    });
}

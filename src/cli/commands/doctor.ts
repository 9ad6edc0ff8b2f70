/** `el4ner doctor`: probes every configured model and prints what each can do (src/doctor/probe.ts). */
import type { Command } from 'commander';
import { positiveInt } from '../args.js';

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'probe every model of a config: reachable, model name known, JSON-schema answers, logprobs, latency of one call',
    )
    .requiredOption('--config <file>', 'configuration (YAML or JSON)')
    .option(
      '--timeout-ms <n>',
      'time limit per probe call (an embedded model is loaded first, without a limit)',
      positiveInt,
      30_000,
    )
    .option('--json', 'print the results as JSON')
    .action(async (opts: { config: string; timeoutMs: number; json?: boolean }) => {
      const { loadConfig } = await import('../../config/load.js');
      const { ConfigError } = await import('../../core/errors.js');
      const { formatProbeTable, healthy, probeModels } = await import('../../doctor/probe.js');
      const { EXIT } = await import('../errors.js');
      const config = loadConfig(opts.config);
      if (config.models.length === 0)
        throw new ConfigError(`${opts.config}: no models to probe (the CRF alone needs no server)`);
      const results = await probeModels(config, { timeoutMs: opts.timeoutMs });
      process.stdout.write(
        opts.json ? `${JSON.stringify(results, null, 2)}\n` : `${formatProbeTable(results)}\n`,
      );
      const sick = results.filter((r) => !healthy(r));
      if (sick.length) {
        process.stderr.write(
          `el4ner: ${sick.map((r) => r.model).join(', ')} cannot serve a run (see the table)\n`,
        );
        process.exitCode = EXIT.model;
      }
    });
}

/** `el4ner select`: SaM expert selection for a target domain (docs/experts.md). */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError, InputError } from '../../core/errors.js';
import { nonNegativeInt, positiveInt } from '../args.js';
import { readGold } from '../gold-input.js';
import { ENCODING_FLAG, encodingHelp, inputReadOptions } from '../input-options.js';

interface SelectFlags {
  encoding?: string;
  config: string;
  target: string;
  labelled?: number;
  topDomain?: number;
  topPerformance?: number;
  seed: number;
  out?: string;
  configOut?: string;
  cache?: string | boolean;
}

export function register(program: Command): void {
  program
    .command('select')
    .description(
      'select experts for a target domain: top-a by domain similarity + top-b by F1 on sampled labelled target sentences (SaM), and merge them',
    )
    .requiredOption('--config <file>', 'configuration file with `experts`')
    .requiredOption('--target <file>', 'target-domain documents (labelled for the performance criterion)')
    .option(
      '--labelled <n>',
      'labelled target sentences to score experts on (0: domain only; default selection.labelled or 20)',
      nonNegativeInt,
    )
    .option(
      '--top-domain <a>',
      'experts kept by domain similarity (default selection.topByDomain or 2)',
      positiveInt,
    )
    .option(
      '--top-performance <b>',
      'experts kept by F1 (default selection.topByPerformance or 2)',
      positiveInt,
    )
    .option('--seed <s>', 'sampling seed', nonNegativeInt, 13)
    .option('--out <file>', 'write the selection as JSON')
    .option('--config-out <file>', 'write the config with the merged experts as YAML')
    .option('--cache <path>', 'response cache file (default: config cache.path)')
    .option('--no-cache', 'do not read or write the response cache')
    .option(ENCODING_FLAG, encodingHelp('encoding of --target'))
    .action(async (flags: SelectFlags) => {
      const read = inputReadOptions({ encoding: flags.encoding });
      const [
        { loadConfig },
        { readDocuments },
        { assembleEngines },
        reg,
        sel,
        cf,
        { createProgress },
        { onInterrupt },
        degraded,
      ] = await Promise.all([
        import('../../config/load.js'),
        import('../../formats/index.js'),
        import('../../assemble/engines.js'),
        import('../../experts/registry.js'),
        import('../../experts/select.js'),
        import('../../experts/config-file.js'),
        import('../../run/progress.js'),
        import('../interrupt.js'),
        import('../../run/degraded.js'),
      ]);
      const base = loadConfig(flags.config);
      const experts = reg.resolveExperts(base);
      if (experts.length === 0) throw new ConfigError(`${flags.config}: no \`experts\` to select from`);
      const config = reg.configWithExperts(base, experts);
      const { prepareOutputFile } = await import('../../run/output-path.js');
      if (flags.out) prepareOutputFile(flags.out, 'selection');
      if (flags.configOut) prepareOutputFile(flags.configOut, 'config');
      const labelled = flags.labelled ?? base.selection?.labelled ?? 20;
      // experts are scored on labelled target sentences; domain similarity alone (0) reads only the text
      const target =
        labelled > 0
          ? await readGold(flags.target, '--target', read)
          : await readDocuments(flags.target, read);
      if (target.length === 0) throw new InputError('no documents', flags.target);
      const engines = await assembleEngines(config, {
        noCache: flags.cache === false,
        cachePath: typeof flags.cache === 'string' ? flags.cache : undefined,
      });
      const log = (m: string) => process.stderr.write(`el4ner: ${m}\n`);
      // an expert's progress and Ctrl-C name it with its place among the experts measured
      const nameOf = new Map(experts.map((e, i) => [e.voter, `${e.name} (${i + 1} of ${experts.length})`]));
      let progress: import('../../run/progress.js').Progress | undefined;
      let measuring: string | undefined;
      let selected = false;
      const stopHandling = onInterrupt((signal) => {
        progress?.stop('stopped');
        if (!selected)
          log(
            `${signal}: stopped${measuring ? ` while measuring expert ${measuring}` : ''}; nothing written`,
          );
      });
      try {
        const result = await sel.selectExperts({
          config,
          experts,
          target,
          labelled,
          topByDomain: flags.topDomain ?? base.selection?.topByDomain ?? 2,
          topByPerformance: flags.topPerformance ?? base.selection?.topByPerformance ?? 2,
          seed: flags.seed,
          engines: engines.engines,
          ledger: engines.ledger,
          log,
          progress: async (voter, total) => {
            measuring = nameOf.get(voter) ?? voter;
            progress = await createProgress({ total, label: `expert ${measuring}` });
            return progress;
          },
        });
        selected = true;
        process.stdout.write(`${sel.formatSelection(result)}\n`);
        process.stderr.write(`el4ner: ${result.calls} LLM call(s) spent measuring experts\n`);
        if (flags.out) await writeFile(flags.out, `${JSON.stringify(result, null, 2)}\n`);
        if (flags.configOut) {
          const raw = cf.readRawConfig(flags.config);
          const m = result.merge;
          if (m.models.length) raw.models = [...(raw.models ?? []), ...m.models];
          raw.backbones = m.backbones;
          if (m.verifier) raw.verifier = m.verifier;
          if (m.voteWeights) {
            raw.voteWeights = m.voteWeights;
            raw.stages = { ...(raw.stages ?? {}), classification: 'weighted-vote' };
          }
          cf.writeDerivedConfig(
            flags.config,
            raw,
            flags.configOut,
            `el4ner select: experts ${result.selected.join(', ')} for ${flags.target}`,
          );
          loadConfig(flags.configOut);
        }
        // the selection is written; the exit code says when an F1 it rests on was degraded
        const outcome = degraded.degradedScores(
          result.rows.map((r) => ({
            what: `expert ${r.expert}`,
            documents: result.labelled,
            degraded: r.degraded ?? 0,
            unanswered: 0,
          })),
        );
        for (const line of outcome.lines) log(line);
        process.exitCode = outcome.code;
      } finally {
        stopHandling();
        await engines.close();
      }
    });
}

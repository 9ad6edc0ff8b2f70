/** Options shared by `el4ner run` and `el4ner eval`: stage switches, cache and concurrency. */
import type { Command } from 'commander';
import { InputError } from '../core/errors.js';
import { type StageOverrides, stageOverridesFromFlags } from './stages.js';

export interface PipelineFlags {
  config: string;
  retrieval?: string;
  verification?: boolean;
  decomposition?: boolean;
  extraction?: string;
  classification?: string;
  singleModel?: string;
  cache?: string | boolean;
  concurrency?: string;
}

export function addPipelineOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--config <file>', 'configuration file (YAML or JSON)')
    .option('--retrieval <mode>', 'demonstration retrieval: span-level | sentence-embedding | random | none')
    .option('--extraction <mode>', 'span extraction: union | single')
    .option('--classification <mode>', 'span classification: vote | weighted-vote | single')
    .option('--single-model <name>', "the model used by 'single' extraction / classification")
    .option('--no-verification', 'skip type verification')
    .option('--no-decomposition', 'one joint extract-and-type call per backbone instead of separate stages')
    .option('--cache <path>', 'response cache file (default: config cache.path)')
    .option('--no-cache', 'do not read or write the response cache')
    .option('--concurrency <n>', 'sentences processed at once (default: config concurrency)');
}

export function pipelineSettings(flags: PipelineFlags): {
  stages: StageOverrides;
  noCache: boolean;
  cachePath?: string;
  concurrency?: number;
} {
  let concurrency: number | undefined;
  if (flags.concurrency !== undefined) {
    if (!/^\d+$/.test(flags.concurrency) || Number(flags.concurrency) < 1)
      throw new InputError(
        `--concurrency must be a positive integer, got ${JSON.stringify(flags.concurrency)}`,
      );
    concurrency = Number(flags.concurrency);
  }
  return {
    stages: stageOverridesFromFlags(flags),
    noCache: flags.cache === false,
    cachePath: typeof flags.cache === 'string' ? flags.cache : undefined,
    concurrency,
  };
}

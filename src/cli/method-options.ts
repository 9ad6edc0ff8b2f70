/** Options shared by `el4ner run` and `el4ner eval`: stage switches, cache and concurrency. */
import type { Command } from 'commander';
import { CLASSIFICATION_MODES, EXTRACTION_MODES, RETRIEVAL_MODES } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import { type StageOverrides, stageOverridesFromFlags } from '../el4ner/switches.js';

export interface MethodFlags {
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

export function addMethodOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--config <file>', 'configuration file (YAML or JSON)')
    .option('--retrieval <mode>', `demonstration retrieval: ${RETRIEVAL_MODES.join(' | ')}`)
    .option('--extraction <mode>', `span extraction: ${EXTRACTION_MODES.join(' | ')}`)
    .option('--classification <mode>', `span classification: ${CLASSIFICATION_MODES.join(' | ')}`)
    .option('--single-model <name>', "the model used by 'single' extraction / classification")
    .option('--no-verification', 'skip type verification')
    .option('--no-decomposition', 'one joint extract-and-type call per backbone instead of separate stages')
    .option('--cache <path>', 'response cache file (default: config cache.path)')
    .option('--no-cache', 'do not read or write the response cache')
    .option('--concurrency <n>', 'sentences processed at once (default: config concurrency)');
}

export function methodSettings(flags: MethodFlags): {
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

/** Options shared by `el4ner run` and `el4ner eval`: stage switches, cache and concurrency. */
import type { Command } from 'commander';
import {
  CLASSIFICATION_MODES,
  EXTRACTION_MODES,
  RETRIEVAL_MODES,
  VERIFICATION_POLICIES,
} from '../config/schema.js';
import { InputError } from '../core/errors.js';
import { type StageOverrides, stageOverridesFromFlags } from '../el4ner/switches.js';
import { numberInRange } from './args.js';

export interface MethodFlags {
  config?: string;
  retrieval?: string;
  verification?: boolean;
  decomposition?: boolean;
  extraction?: string;
  classification?: string;
  singleModel?: string;
  cache?: string | boolean;
  concurrency?: string;
  threshold?: string;
  verificationPolicy?: string;
}

export function addMethodOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--config <file>', 'configuration file (YAML or JSON)')
    .option('--retrieval <mode>', `demonstration retrieval: ${RETRIEVAL_MODES.join(' | ')}`)
    .option('--extraction <mode>', `span extraction: ${EXTRACTION_MODES.join(' | ')}`)
    .option('--classification <mode>', `span classification: ${CLASSIFICATION_MODES.join(' | ')}`)
    .option('--single-model <name>', "the model used by 'single' extraction / classification")
    .option('--no-verification', 'skip type verification')
    .option(
      '--verification-policy <policy>',
      `which entities the verifier sees: ${VERIFICATION_POLICIES.join(' | ')} (default: config verification.policy)`,
    )
    .option(
      '--threshold <score>',
      'keep entities scoring at least this, 0..1 (default: config decision.minScore); with a calibration from el4ner tune the score is the probability that the entity is right',
    )
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
  threshold?: number;
  verificationPolicy?: (typeof VERIFICATION_POLICIES)[number];
  configFile?: string;
} {
  let concurrency: number | undefined;
  if (flags.concurrency !== undefined) {
    if (!/^\d+$/.test(flags.concurrency) || Number(flags.concurrency) < 1)
      throw new InputError(
        `--concurrency must be a positive integer, got ${JSON.stringify(flags.concurrency)}`,
      );
    concurrency = Number(flags.concurrency);
  }
  const threshold =
    flags.threshold === undefined ? undefined : numberInRange('--threshold', flags.threshold, 0, 1);
  const policy = flags.verificationPolicy;
  if (policy !== undefined && !(VERIFICATION_POLICIES as readonly string[]).includes(policy))
    throw new InputError(
      `--verification-policy must be one of ${VERIFICATION_POLICIES.join(', ')} (got ${JSON.stringify(policy)})`,
    );
  return {
    ...(threshold !== undefined ? { threshold } : {}),
    ...(policy !== undefined ? { verificationPolicy: policy as (typeof VERIFICATION_POLICIES)[number] } : {}),
    stages: stageOverridesFromFlags(flags),
    noCache: flags.cache === false,
    cachePath: typeof flags.cache === 'string' ? flags.cache : undefined,
    concurrency,
    ...(flags.config !== undefined ? { configFile: flags.config } : {}),
  };
}

/** `--config` or `--slm`: the commands that can tag with a CRF alone take its model file instead of a config. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { InputError } from '../core/errors.js';

export interface ConfigOrSlmFlags {
  config?: string;
  slm?: string;
}

/** Adds `--slm` and makes the command's `--config` optional when it is given. */
export function addSlmOption(cmd: Command): Command {
  cmd.option(
    '--slm <model>',
    'a CRF model from train-slm: tag with it alone, no config needed (with --config: in place of its fusion.slm)',
  );
  const config = cmd.options.find((o) => o.long === '--config');
  if (config) {
    config.mandatory = false;
    config.description = `${config.description} (required unless --slm)`;
  }
  return cmd;
}

export async function configOrSlm(flags: ConfigOrSlmFlags): Promise<Config> {
  const { loadConfig, parseConfig } = await import('../config/load.js');
  if (!flags.config && !flags.slm)
    throw new InputError('give --config (a YAML or JSON file) or --slm (a CRF model)');
  const slm = flags.slm ? { slm: resolve(flags.slm) } : undefined;
  const config = flags.config ? loadConfig(flags.config) : parseConfig({ fusion: slm }, '--slm');
  if (slm) config.fusion = { ...(config.fusion ?? parseConfig({ fusion: slm }, '--slm').fusion!), ...slm };
  return config;
}

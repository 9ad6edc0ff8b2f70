/** `el4ner select` through the real command line, for the tests of expert selection. */
import assert from 'node:assert/strict';
import { type CliOptions, type CliResult, el4nerAsync } from './cli.js';

/** `el4ner select --config <config> --target <target> ...more`, which must exit 0. */
export async function selectCli(
  config: string,
  target: string,
  more: readonly string[] = [],
  opts: CliOptions = {},
): Promise<CliResult> {
  const r = await el4nerAsync(['select', '--config', config, '--target', target, ...more], opts);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

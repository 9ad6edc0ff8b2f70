/** Inputs a command refuses: one line naming the file, exit 2, no stack trace. */
import assert from 'node:assert/strict';
import { literal } from './cli.js';

/** What a refused run printed (spawnSync's result). */
export interface Refused {
  status: number | null;
  stderr: string;
}

/**
 * Runs `run(file)` for each refused input and checks the refusal: exit 2, the file named, the
 * reason given, no stack trace; then `also` (what else the test asks of that run).
 */
export function assertRefusals(
  run: (file: string) => Refused,
  refusals: ReadonlyArray<readonly [file: string, reason: RegExp]>,
  also: (r: Refused, file: string) => void = () => {},
): void {
  for (const [file, reason] of refusals) {
    const r = run(file);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${literal(file)}: `));
    assert.match(r.stderr, reason);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    also(r, file);
  }
}

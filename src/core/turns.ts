/**
 * Long synchronous work in a command that must stay interruptible (Ctrl-C runs in an event-loop
 * turn): `await turn()` in its loop gives the event loop a turn once `everyMs` have passed since
 * the last one, so the loop pays only a clock read per call, not a turn per item.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** A turn of the event loop at most every this many milliseconds of synchronous work. */
export const TURN_EVERY_MS = 75;

export type Turns = () => Promise<void> | undefined;

export function eventLoopTurns(everyMs = TURN_EVERY_MS): Turns {
  let last = performance.now();
  return () => {
    if (performance.now() - last < everyMs) return undefined;
    return nextTurn().then(() => {
      last = performance.now();
    });
  };
}

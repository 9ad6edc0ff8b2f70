/**
 * Overlapping entities (config `decision.overlaps`): on flat label sets the best-scored span of
 * an overlapping group wins (voting/overlaps.ts); nested data keeps them all. No model calls.
 */
import type { Stage } from '../stage.js';
import { resolveOverlaps } from '../voting/overlaps.js';

export const overlapsStage: Stage = {
  name: 'overlaps',
  calls: () => 0,
  async run(state, parts) {
    state.final = resolveOverlaps(state.final, parts.overlaps, state.voters);
  },
};

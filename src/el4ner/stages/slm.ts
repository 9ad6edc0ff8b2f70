/**
 * The supervised tagger as one more voter (config `fusion.voter`): it tags the chunk, and its
 * typed spans join the union (extraction 'union') and the votes (classification 'vote' /
 * 'weighted-vote'); 'single' stages leave it out. A tagger that throws is counted as a failure
 * and simply does not vote for that chunk.
 */
import { describeError } from '../../core/failures.js';
import { compareEntities, NONE_TYPE } from '../../core/types.js';
import type { Stage } from '../stage.js';
import { spanKey } from '../state.js';

export const slmStage: Stage = {
  name: 'slm',
  calls: () => 0,
  async run(state, parts, logs) {
    const slm = parts.slm;
    if (!slm) return;
    try {
      const pred = await slm.predict({ id: `${state.doc}:${state.start}`, text: state.text });
      const typed = new Map<string, string>();
      for (const e of [...pred.entities].sort(compareEntities)) {
        const t = parts.typeOf(e.type);
        if (
          !t ||
          t.type === NONE_TYPE ||
          typed.has(spanKey(e)) ||
          state.text.slice(e.start, e.end) !== e.text
        )
          continue;
        typed.set(spanKey(e), t.type);
      }
      state.slm = typed;
    } catch (e) {
      logs.failures.record(slm.name, 'slm', e);
      state.warnings.push({ kind: 'failed', stage: 'slm', model: slm.name, message: describeError(e) });
    }
  },
};

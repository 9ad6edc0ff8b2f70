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
      // The tagger reads the chunk as given (it was trained on that form); its spans move to the model's text.
      const source = state.view.source;
      const pred = await slm.predict({
        id: `${state.doc}:${state.start}`,
        text: source,
        ...(state.context ? { context: state.context } : {}),
      });
      const typed = new Map<string, string>();
      for (const e of [...pred.entities].sort(compareEntities)) {
        const t = parts.typeOf(e.type);
        if (!t || t.type === NONE_TYPE || source.slice(e.start, e.end) !== e.text) continue;
        const key = spanKey(state.view.toModel(e));
        if (typed.has(key)) continue;
        typed.set(key, t.type);
      }
      state.slm = typed;
    } catch (e) {
      logs.failures.record(slm.name, 'slm', e);
      state.warnings.push({ kind: 'failed', stage: 'slm', model: slm.name, message: describeError(e) });
    }
  },
};

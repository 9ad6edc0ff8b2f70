/**
 * The supervised tagger as one more voter (config `fusion.voter`): it tags the chunk, and its
 * typed spans join the union (extraction 'union') and the votes (classification 'vote' /
 * 'weighted-vote'); 'single' stages leave it out. With soft votes its vote for each union span is
 * spread by the probability it gives that exact span each type (`slmSoftVotes`). A tagger that
 * throws is counted as a failure and simply does not vote for that chunk (or votes hard, when
 * only its probabilities failed).
 */
import { describeError } from '../../core/failures.js';
import { compareEntities, NONE_TYPE, type Span } from '../../core/types.js';
import type { RunLogs } from '../calls.js';
import type { Stage } from '../stage.js';
import { type ChunkState, type El4nerParts, spanKey } from '../state.js';

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

/**
 * The SLM voter's soft votes for `spans` (model-text offsets), by span key: its probability of
 * each label (its own types mapped to the labels, summed) and of `none` (the rest). Undefined when
 * votes are hard, the voter gives no probabilities or the call failed.
 */
export async function slmSoftVotes(
  state: ChunkState,
  parts: El4nerParts,
  logs: RunLogs,
  spans: readonly Span[],
): Promise<Map<string, Record<string, number>> | undefined> {
  const slm = parts.slm;
  if (parts.votes !== 'soft' || !slm?.spanProbabilities || spans.length === 0) return undefined;
  let raw: Array<Record<string, number>>;
  try {
    raw = await slm.spanProbabilities(
      {
        id: `${state.doc}:${state.start}`,
        text: state.view.source,
        ...(state.context ? { context: state.context } : {}),
      },
      spans.map((s) => state.view.toSource(s)),
    );
  } catch (e) {
    logs.failures.record(slm.name, 'slm', e);
    state.warnings.push({ kind: 'failed', stage: 'slm', model: slm.name, message: describeError(e) });
    return undefined;
  }
  const out = new Map<string, Record<string, number>>();
  spans.forEach((s, i) => {
    const probs: Record<string, number> = {};
    let entity = 0;
    for (const [type, p] of Object.entries(raw[i] ?? {})) {
      const label = parts.typeOf(type)?.type;
      if (!label || label === NONE_TYPE || !(p > 0)) continue;
      probs[label] = (probs[label] ?? 0) + p;
      entity += p;
    }
    // The tagger's probabilities of disjoint events sum to at most 1; rounding can pass it.
    if (entity > 1) for (const l of Object.keys(probs)) probs[l] /= entity;
    probs[NONE_TYPE] = Math.max(0, 1 - entity);
    out.set(spanKey(s), probs);
  });
  return out;
}

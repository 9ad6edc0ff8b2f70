/**
 * Stage 2, span extraction (recall): every extractor (the backbones, or the single model) lists
 * the entity spans of the chunk without types; the grounded spans of all of them, and the SLM
 * voter's when it takes part, form the union.
 */
import { type GroundingResult, groundMentions } from '../../answers/grounding.js';
import type { AnswerReader } from '../../answers/resolve.js';
import { parseSpanAnswer } from '../../answers/shapes.js';
import type { Span } from '../../core/types.js';
import type { JsonSchema } from '../../engines/types.js';
import { ask, type Prompt, withDemos } from '../calls.js';
import {
  type PromptContext,
  SPAN_ITEM,
  STEPS,
  spanListTokens,
  stageMessages,
  strictObject,
} from '../prompts.js';
import type { Stage } from '../stage.js';
import type { El4nerParts, StagePlan } from '../state.js';
import { unionSpans } from '../voting/union.js';

export const spanAnswerSchema: JsonSchema = strictObject({ spans: { type: 'array', items: SPAN_ITEM } });

/** Span extraction with demonstrations (entity-free ones show `Entities: none`). */
export function extractPrompt(ctx: PromptContext, sentence: string): Prompt {
  return withDemos(ctx, (c) => ({
    messages: stageMessages(c, sentence, STEPS.find),
    jsonSchema: { name: 'spans', schema: spanAnswerSchema },
    maxTokens: spanListTokens(sentence),
  }));
}

/** Reads a list of spans and grounds it in `text`; items that are not spans and spans found nowhere are dropped. */
export function spanReader(text: string): AnswerReader<GroundingResult> {
  return {
    read(json) {
      const p = parseSpanAnswer(json);
      if (!p.found) return { repairs: [], problem: 'no list of spans ("spans": [...]) in the JSON' };
      const g = groundMentions(text, p.mentions);
      const repairs: string[] = [];
      if (p.shape) repairs.push(`shape read leniently: ${p.shape}`);
      if (p.invalid > 0) repairs.push(`dropped items: ${p.invalid} not a span`);
      if (g.hallucinated > 0) repairs.push(`dropped spans: ${g.hallucinated} not in the text`);
      if (g.loose > 0) repairs.push(`spans matched loosely: ${g.loose} in another case or spacing`);
      return { value: g, repairs };
    },
    validate: (g) =>
      g.spans.every((s) => s.start >= 0 && s.end <= text.length && text.slice(s.start, s.end) === s.text)
        ? undefined
        : 'a span does not index the text',
  };
}

export function extractors(parts: StagePlan): string[] {
  return parts.switches.extraction === 'single' ? [parts.singleModel] : parts.backbones;
}

export function promptContext(parts: El4nerParts, demos: PromptContext['demos']): PromptContext {
  return { labels: parts.labels, descriptions: parts.descriptions, demos };
}

export const extractStage: Stage = {
  name: 'extract',
  calls: (parts) => extractors(parts).length,
  async run(state, parts, logs) {
    const models = extractors(parts);
    const prompt = extractPrompt(promptContext(parts, state.demos), state.text);
    const answers = await Promise.all(
      models.map((m) => ask(parts, m, 'extract', prompt, spanReader(state.text), logs, state)),
    );
    const perModel: Array<{ model: string; spans: Span[] }> = [];
    answers.forEach((g, i) => {
      const model = models[i];
      if (!g) {
        // Its extraction answer was lost, but the same model listed spans zero-shot for retrieval:
        // those stand in, so one unusable answer does not silence the model for the chunk.
        const zeroShot = state.zeroShot.get(model);
        if (!zeroShot) return;
        state.answered.add(model);
        state.warnings.push({
          kind: 'repaired',
          stage: 'extract',
          model,
          message: 'zero-shot spans used: the extraction answer was not usable',
        });
        logs.repairs.record(model, 'extract', ['zero-shot spans used: the extraction answer was not usable']);
        perModel.push({ model, spans: zeroShot });
        return;
      }
      state.counts.hallucinated += g.hallucinated;
      state.counts.ambiguous += g.ambiguous;
      state.answered.add(model);
      perModel.push({ model, spans: g.spans });
    });
    if (parts.slm && state.slm && parts.switches.extraction === 'union')
      perModel.push({ model: parts.slm.name, spans: spansOf(state.text, state.slm) });
    state.union = unionSpans(perModel);
    for (const p of perModel) state.perModel[p.model] = p.spans;
  },
};

/** The spans of a map keyed by `start:end`. */
export function spansOf(text: string, keyed: ReadonlyMap<string, unknown>): Span[] {
  return [...keyed.keys()].map((k) => {
    const [start, end] = k.split(':').map(Number);
    return { start, end, text: text.slice(start, end) };
  });
}

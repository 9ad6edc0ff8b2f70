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
import { askModel, engineOf, type Prompt } from '../calls.js';
import {
  labelList,
  mentionJson,
  type PromptContext,
  REPEAT_RULE,
  SPAN_ITEM,
  sortedEntities,
  withExamples,
} from '../prompts.js';
import type { Stage } from '../stage.js';
import type { El4nerParts, StagePlan } from '../state.js';
import { unionSpans } from '../voting/union.js';

export const spanAnswerSchema: JsonSchema = {
  type: 'object',
  properties: { spans: { type: 'array', items: SPAN_ITEM } },
  required: ['spans'],
};

export function extractInstructions(ctx: Pick<PromptContext, 'labels' | 'descriptions'>): string {
  return (
    'You are an expert in named entity recognition. Find every span of the sentence that is a named entity ' +
    'of one of these types:\n' +
    labelList(ctx) +
    '\nList the spans only, without types, in the order they appear. ' +
    REPEAT_RULE +
    ' Answer with JSON: {"spans": [...]}. Answer {"spans": []} when there is none.'
  );
}

/** Span extraction with demonstrations. */
export function extractPrompt(ctx: PromptContext, sentence: string): Prompt {
  const demos = ctx.demos
    .map((d) => {
      const spans = sortedEntities(d).map((e) => mentionJson(d, e));
      return `Sentence: ${d.text}\nAnswer: ${JSON.stringify({ spans })}`;
    })
    .join('\n\n');
  return {
    messages: [
      { role: 'system', content: extractInstructions(ctx) },
      { role: 'user', content: withExamples(demos, `Sentence: ${sentence}\nAnswer:`) },
    ],
    jsonSchema: { name: 'spans', schema: spanAnswerSchema },
  };
}

/** Reads a list of spans and grounds it in `text`; spans found nowhere are dropped (a repair). */
export function spanReader(text: string): AnswerReader<GroundingResult> {
  return {
    read(json) {
      const p = parseSpanAnswer(json);
      if (!p.found) return { repairs: [], problem: 'no list of spans ("spans": [...]) in the JSON' };
      const g = groundMentions(text, p.mentions);
      const repairs: string[] = [];
      if (p.invalid > 0) repairs.push(`dropped ${p.invalid} item(s) that are not spans`);
      if (g.hallucinated > 0) repairs.push(`dropped ${g.hallucinated} span(s) not in the text`);
      return { value: g, repairs };
    },
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
      models.map((m) =>
        askModel(engineOf(parts.engines, m), 'extract', prompt, spanReader(state.text), logs, state.warnings),
      ),
    );
    const perModel: Array<{ model: string; spans: Span[] }> = [];
    answers.forEach((g, i) => {
      if (!g) return;
      state.counts.hallucinated += g.hallucinated;
      state.counts.ambiguous += g.ambiguous;
      state.answered.add(models[i]);
      perModel.push({ model: models[i], spans: g.spans });
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

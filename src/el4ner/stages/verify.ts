/**
 * Stage 4, type verification: one verifier sees every decided entity with its type and answers
 * yes or no for each. A 'no' removes the entity; an entity without a verdict is kept, and its
 * sources say so. A failed verification keeps every entity and leaves a warning on the document.
 */
import type { AnswerReader } from '../../answers/resolve.js';
import { parseVerifyAnswer } from '../../answers/shapes.js';
import { NONE_TYPE } from '../../core/types.js';
import type { JsonSchema } from '../../engines/types.js';
import { askModel, engineOf, type Prompt } from '../calls.js';
import { labelList, numbered, type PromptContext, sortedEntities, withExamples } from '../prompts.js';
import type { Stage } from '../stage.js';
import { promptContext } from './extract.js';

export const verifyAnswerSchema: JsonSchema = {
  type: 'object',
  properties: {
    answers: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'integer', minimum: 1 }, answer: { type: 'string', enum: ['yes', 'no'] } },
        required: ['id', 'answer'],
      },
    },
  },
  required: ['answers'],
};

/** Type verification: every typed entity listed, a yes/no answer per entity. */
export function verifyPrompt(
  ctx: PromptContext,
  sentence: string,
  entities: ReadonlyArray<{ text: string; type: string }>,
): Prompt {
  const instructions =
    'You are an expert in named entity recognition. Each numbered item is a span of the sentence with the ' +
    `entity type it was given. The types are:\n${labelList(ctx)}\n` +
    'For each item answer "yes" when the span is an entity of exactly that type in this sentence, else "no". ' +
    'Answer with JSON: {"answers": [{"id": 1, "answer": "yes"}, ...]}, one answer per item.';
  const demos = ctx.demos
    .filter((d) => d.entities.length > 0)
    .map((d) => {
      const ents = sortedEntities(d);
      const answers = ents.map((_, i) => ({ id: i + 1, answer: 'yes' }));
      return `Sentence: ${d.text}\nEntities:\n${numbered(ents)}\nAnswer: ${JSON.stringify({ answers })}`;
    })
    .join('\n\n');
  return {
    messages: [
      { role: 'system', content: instructions },
      {
        role: 'user',
        content: withExamples(demos, `Sentence: ${sentence}\nEntities:\n${numbered(entities)}\nAnswer:`),
      },
    ],
    jsonSchema: { name: 'verdicts', schema: verifyAnswerSchema },
  };
}

/** Yes/no per 1-based entity id. */
export function verdictReader(count: number): AnswerReader<Map<number, boolean>> {
  return {
    read(json) {
      const v = parseVerifyAnswer(json, count);
      if (v.size === 0 && count > 0)
        return { repairs: [], problem: `no yes/no answer for any of the ${count} items` };
      return {
        value: v,
        repairs: v.size < count ? [`no verdict for ${count - v.size} of ${count} item(s)`] : [],
      };
    },
  };
}

export const verifyStage: Stage = {
  name: 'verify',
  calls: () => 1,
  async run(state, parts, logs) {
    const voted = state.voted;
    if (voted.length === 0) return;
    const prompt = verifyPrompt(promptContext(parts, state.demos), state.text, voted);
    const verdicts = await askModel(
      engineOf(parts.engines, parts.verifier),
      'verify',
      prompt,
      verdictReader(voted.length),
      logs,
      state.warnings,
    );
    if (!verdicts) return;
    state.final = [];
    voted.forEach((e, i) => {
      const ok = verdicts.get(i + 1);
      const sources = [
        ...(e.sources ?? []),
        {
          model: parts.verifier,
          stage: 'verify',
          type: ok === false ? NONE_TYPE : ok ? e.type : 'unanswered',
        },
      ];
      if (ok !== false) state.final.push({ ...e, sources });
    });
  },
};

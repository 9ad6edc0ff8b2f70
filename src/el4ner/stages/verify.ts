/**
 * Stage 4, type verification: one verifier sees decided entities with their types and answers
 * yes or no for each. Config `verification`:
 * - policy `all` (the paper): every decided entity is asked about; `selective`: only those whose
 *   vote margin (voting/rules.ts) is below `margin`, so a unanimous entity is never asked about
 *   and never vetoed, and a chunk whose entities are all clear costs no call; `off`: no stage.
 * - use `veto` (the paper): a 'no' removes the entity; `feature`: nothing is removed here, the
 *   verdict goes into the entity's score (stages/score.ts).
 * An entity without a verdict is kept, and its sources say so. A failed verification keeps
 * every entity and leaves a warning on the document.
 */
import type { AnswerReader } from '../../answers/resolve.js';
import { parseVerifyAnswer } from '../../answers/shapes.js';
import { NONE_TYPE } from '../../core/types.js';
import type { JsonSchema } from '../../engines/types.js';
import { askModel, engineOf, type Prompt } from '../calls.js';
import { labelList, numbered, type PromptContext, sortedEntities, withExamples } from '../prompts.js';
import type { Stage } from '../stage.js';
import type { Candidate, VerificationSettings } from '../state.js';
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

/** The candidates the policy asks the verifier about. */
export function toVerify(candidates: readonly Candidate[], settings: VerificationSettings): Candidate[] {
  if (settings.policy === 'off') return [];
  if (settings.policy === 'all') return [...candidates];
  return candidates.filter((c) => c.margin < settings.margin);
}

export const verifyStage: Stage = {
  name: 'verify',
  calls: () => 1,
  async run(state, parts, logs) {
    const asked = toVerify(state.candidates, parts.verification);
    if (asked.length === 0) return;
    const entities = asked.map((c) => c.entity);
    const prompt = verifyPrompt(promptContext(parts, state.demos), state.text, entities);
    const verdicts = await askModel(
      engineOf(parts.engines, parts.verifier),
      'verify',
      prompt,
      verdictReader(entities.length),
      logs,
      state.warnings,
    );
    if (!verdicts) return;
    asked.forEach((c, i) => {
      const ok = verdicts.get(i + 1);
      c.verdict = ok;
      c.entity = {
        ...c.entity,
        sources: [
          ...(c.entity.sources ?? []),
          {
            model: parts.verifier,
            stage: 'verify',
            type: ok === false ? NONE_TYPE : ok ? c.entity.type : 'unanswered',
          },
        ],
      };
    });
    if (parts.verification.use === 'veto')
      state.candidates = state.candidates.filter((c) => c.verdict !== false);
    state.final = state.candidates.map((c) => c.entity);
  },
};

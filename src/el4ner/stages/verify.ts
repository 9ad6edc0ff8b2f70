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
import { readVerifyAnswer } from '../../answers/shapes.js';
import { NONE_TYPE, type Span } from '../../core/types.js';
import type { JsonSchema } from '../../engines/types.js';
import { ask, type Prompt, withDemos } from '../calls.js';
import {
  itemListTokens,
  numberedTyped,
  type PromptContext,
  STEPS,
  stageMessages,
  strictObject,
} from '../prompts.js';
import type { Stage } from '../stage.js';
import type { Candidate, VerificationSettings } from '../state.js';
import { promptContext } from './extract.js';

export const verifyAnswerSchema: JsonSchema = strictObject({
  answers: {
    type: 'array',
    items: strictObject({ id: { type: 'integer' }, answer: { type: 'string', enum: ['yes', 'no'] } }),
  },
});

/**
 * Type verification: every typed entity listed, a yes/no answer per entity. The shared examples
 * (already in the prefix cache from the other stages) show entities with their types, spans that
 * are not entities and types that would be wrong.
 */
export function verifyPrompt(
  ctx: PromptContext,
  sentence: string,
  entities: ReadonlyArray<Span & { type: string }>,
): Prompt {
  return withDemos(ctx, (c) => ({
    messages: stageMessages(c, sentence, STEPS.check, {
      head: 'Entities',
      lines: numberedTyped(sentence, entities),
    }),
    jsonSchema: { name: 'verdicts', schema: verifyAnswerSchema },
    maxTokens: itemListTokens(entities.length, 26),
  }));
}

/** Yes/no per 1-based entity id; items without a verdict are left out (and said). */
export function verdictReader(count: number): AnswerReader<Map<number, boolean>> {
  return {
    read(json) {
      const v = readVerifyAnswer(json, count);
      if (v.verdicts.size === 0 && count > 0)
        return { repairs: [], problem: `no yes/no answer for any of the ${count} items` };
      const repairs: string[] = [];
      if (v.shape) repairs.push(`shape read leniently: ${v.shape}`);
      if (v.verdicts.size < count)
        repairs.push(`missing verdicts: ${count - v.verdicts.size} of ${count} item(s)`);
      return { value: v.verdicts, repairs };
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
    const verdicts = await ask(
      parts,
      parts.verifier,
      'verify',
      prompt,
      verdictReader(entities.length),
      logs,
      state,
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

/**
 * Decomposition off (the ablation): one joint extract-and-type call per extractor. A model that
 * answered votes its type for the spans it found and `none` for the union spans it did not; the
 * SLM voter does the same with its own entities.
 */
import { groundMentions, type SpanMention } from '../../answers/grounding.js';
import type { TypeMapper } from '../../answers/labels.js';
import type { AnswerReader } from '../../answers/resolve.js';
import { parseJointAnswer } from '../../answers/shapes.js';
import { NONE_TYPE, type Span } from '../../core/types.js';
import type { JsonSchema } from '../../engines/types.js';
import { ask, type Prompt, withDemos } from '../calls.js';
import { type PromptContext, STEPS, spanListTokens, stageMessages, strictObject } from '../prompts.js';
import type { Stage } from '../stage.js';
import { spanKey } from '../state.js';
import { unionSpans } from '../voting/union.js';
import { addVote } from './classify.js';
import { extractors, promptContext, spansOf } from './extract.js';

export function jointAnswerSchema(labels: readonly string[]): JsonSchema {
  return strictObject({
    entities: {
      type: 'array',
      items: strictObject({
        text: { type: 'string' },
        type: { type: 'string', enum: [...labels] },
        occurrence: { type: ['integer', 'null'] },
      }),
    },
  });
}

/** Joint extract-and-type (decomposition off): one call finds and types the entities. */
export function jointPrompt(ctx: PromptContext, sentence: string): Prompt {
  return withDemos(ctx, (c) => ({
    messages: stageMessages(c, sentence, STEPS.joint),
    jsonSchema: { name: 'entities', schema: jointAnswerSchema(c.labels) },
    maxTokens: spanListTokens(sentence, 12 + Math.max(0, ...c.labels.map((l) => l.length))),
  }));
}

export interface JointAnswer {
  /** Type per span key (the first type given to a span wins). */
  types: Map<string, string>;
  hallucinated: number;
  ambiguous: number;
  invalidTypes: number;
}

/** Reads typed entities: types mapped to the labels (unknown ones dropped), mentions grounded per type. */
export function jointReader(
  text: string,
  labels: readonly string[],
  typeOf: TypeMapper,
): AnswerReader<JointAnswer> {
  return {
    read(json) {
      const p = parseJointAnswer(json);
      if (!p.found) return { repairs: [], problem: 'no list of entities ("entities": [...]) in the JSON' };
      const byType = new Map<string, SpanMention[]>();
      const repairs: string[] = [];
      if (p.shape) repairs.push(`shape read leniently: ${p.shape}`);
      const mapped = new Map<string, string>();
      let invalidTypes = 0;
      for (const m of p.mentions) {
        const t = typeOf(m.type);
        if (t === undefined) invalidTypes++;
        if (t === undefined || t.type === NONE_TYPE) continue;
        if (t.how !== 'exact') mapped.set(m.type, `${t.type} (${t.how})`);
        byType.set(t.type, [...(byType.get(t.type) ?? []), m]);
      }
      for (const [raw, to] of mapped) repairs.push(`type mapped: ${JSON.stringify(raw)} -> ${to}`);
      const answer: JointAnswer = { types: new Map(), hallucinated: 0, ambiguous: 0, invalidTypes };
      for (const t of labels) {
        const ms = byType.get(t);
        if (!ms) continue;
        const g = groundMentions(text, ms);
        answer.hallucinated += g.hallucinated;
        answer.ambiguous += g.ambiguous;
        for (const s of g.spans) if (!answer.types.has(spanKey(s))) answer.types.set(spanKey(s), t);
      }
      if (invalidTypes > 0) repairs.push(`dropped types: ${invalidTypes} outside the label set`);
      if (answer.hallucinated > 0) repairs.push(`dropped spans: ${answer.hallucinated} not in the text`);
      if (p.invalid > 0) repairs.push(`dropped items: ${p.invalid} not a typed span`);
      return { value: answer, repairs };
    },
  };
}

export const jointStage: Stage = {
  name: 'joint',
  calls: (parts) => extractors(parts).length,
  async run(state, parts, logs) {
    const models = extractors(parts);
    const prompt = jointPrompt(promptContext(parts, state.demos), state.text);
    const reader = jointReader(state.text, parts.labels, parts.typeOf);
    const answers = await Promise.all(models.map((m) => ask(parts, m, 'joint', prompt, reader, logs, state)));
    const perModel: Array<{ model: string; spans: Span[]; types: ReadonlyMap<string, string> }> = [];
    answers.forEach((a, i) => {
      if (!a) return;
      state.counts.hallucinated += a.hallucinated;
      state.counts.ambiguous += a.ambiguous;
      state.counts.invalidTypes += a.invalidTypes;
      state.answered.add(models[i]);
      perModel.push({ model: models[i], spans: spansOf(state.text, a.types), types: a.types });
    });
    const slmVotes = parts.slm && state.slm && parts.switches.extraction === 'union';
    if (slmVotes && parts.slm && state.slm)
      perModel.push({ model: parts.slm.name, spans: spansOf(state.text, state.slm), types: state.slm });
    state.union = unionSpans(perModel);
    state.voters = [...models, ...(slmVotes && parts.slm ? [parts.slm.name] : [])];
    for (const s of state.union)
      for (const p of perModel)
        addVote(state.votes, spanKey(s), p.model, p.types.get(spanKey(s)) ?? NONE_TYPE);
    for (const p of perModel) state.perModel[p.model] = p.spans;
  },
};

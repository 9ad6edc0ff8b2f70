/**
 * Stage 3, span classification (precision): every classifier (the backbones, or the single model)
 * types every span of the union in one call, `none` for a span that is not an entity; the SLM
 * voter, when it takes part, votes the type it gave the span or `none`. The votes go to the
 * decision stage.
 */
import type { MappedType, TypeMapper } from '../../answers/labels.js';
import type { AnswerReader } from '../../answers/resolve.js';
import { parseTypeAnswer } from '../../answers/shapes.js';
import { NONE_TYPE, type Span } from '../../core/types.js';
import type { JsonSchema } from '../../engines/types.js';
import { askModel, engineOf, type Prompt } from '../calls.js';
import { labelList, numbered, type PromptContext, sortedEntities, withExamples } from '../prompts.js';
import type { Stage } from '../stage.js';
import { type StagePlan, spanKey } from '../state.js';
import { promptContext } from './extract.js';

export function typeAnswerSchema(labels: readonly string[]): JsonSchema {
  return {
    type: 'object',
    properties: {
      answers: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            id: { type: 'integer', minimum: 1 },
            type: { type: 'string', enum: [...labels, NONE_TYPE] },
          },
          required: ['id', 'type'],
        },
      },
    },
    required: ['answers'],
  };
}

/** Span classification: every candidate span of the sentence typed in one call. */
export function classifyPrompt(ctx: PromptContext, sentence: string, spans: readonly Span[]): Prompt {
  const instructions =
    'You are an expert in named entity recognition. Each numbered span comes from the sentence. Give each ' +
    `span its entity type, one of:\n${labelList(ctx)}\n- ${NONE_TYPE}: the span is not an entity of these types\n` +
    'Answer with JSON: {"answers": [{"id": 1, "type": "..."}, ...]}, one answer per span.';
  const demos = ctx.demos
    .filter((d) => d.entities.length > 0)
    .map((d) => {
      const ents = sortedEntities(d);
      const answers = ents.map((e, i) => ({ id: i + 1, type: e.type }));
      return `Sentence: ${d.text}\nSpans:\n${numbered(ents)}\nAnswer: ${JSON.stringify({ answers })}`;
    })
    .join('\n\n');
  return {
    messages: [
      { role: 'system', content: instructions },
      {
        role: 'user',
        content: withExamples(demos, `Sentence: ${sentence}\nSpans:\n${numbered(spans)}\nAnswer:`),
      },
    ],
    jsonSchema: { name: 'types', schema: typeAnswerSchema(ctx.labels) },
  };
}

export interface TypedSpans {
  /** Label or 'none' per 1-based span id. */
  types: Map<number, string>;
  /** Spans answered with a type that maps to no label. */
  invalid: number;
  /** Spans with no answer. */
  missing: number;
}

function describeMapping(raw: string, m: MappedType): string {
  return `type "${raw}" read as ${m.type}`;
}

/** Reads the types of `spans`, mapping each to the label set; unknown types drop that span's vote only. */
export function typeReader(spans: readonly Span[], typeOf: TypeMapper): AnswerReader<TypedSpans> {
  return {
    read(json) {
      const raw = parseTypeAnswer(
        json,
        spans.map((s) => s.text),
      );
      if (raw.size === 0 && spans.length > 0)
        return { repairs: [], problem: `no type for any of the ${spans.length} spans` };
      const types = new Map<number, string>();
      const repairs: string[] = [];
      let invalid = 0;
      for (const [id, t] of raw) {
        const m = typeOf(t);
        if (!m) {
          invalid++;
          continue;
        }
        if (m.how !== 'exact') repairs.push(describeMapping(t, m));
        types.set(id, m.type);
      }
      if (invalid > 0) repairs.push(`dropped ${invalid} answer(s) with a type outside the label set`);
      const missing = spans.length - raw.size;
      if (missing > 0) repairs.push(`no answer for ${missing} of ${spans.length} span(s)`);
      return { value: { types, invalid, missing }, repairs };
    },
  };
}

export function classifiers(parts: StagePlan): string[] {
  return parts.switches.classification === 'single' ? [parts.singleModel] : parts.backbones;
}

export const classifyStage: Stage = {
  name: 'classify',
  calls: (parts) => classifiers(parts).length,
  async run(state, parts, logs) {
    const models = classifiers(parts);
    const slmVotes = parts.slm && state.slm && parts.switches.classification !== 'single';
    state.voters = slmVotes && parts.slm ? [...models, parts.slm.name] : [...models];
    if (state.union.length === 0) return;
    const spans = state.union;
    const prompt = classifyPrompt(promptContext(parts, state.demos), state.text, spans);
    const typeOf = parts.typeOf;
    const answers = await Promise.all(
      models.map((m) =>
        askModel(
          engineOf(parts.engines, m),
          'classify',
          prompt,
          typeReader(spans, typeOf),
          logs,
          state.warnings,
        ),
      ),
    );
    answers.forEach((a, i) => {
      if (!a) return;
      state.counts.invalidTypes += a.invalid;
      state.counts.missingAnswers += a.missing;
      spans.forEach((s, j) => {
        const t = a.types.get(j + 1);
        if (t !== undefined) addVote(state.votes, spanKey(s), models[i], t);
      });
    });
    if (slmVotes && parts.slm && state.slm)
      for (const s of spans)
        addVote(state.votes, spanKey(s), parts.slm.name, state.slm.get(spanKey(s)) ?? NONE_TYPE);
  },
};

export function addVote(
  votes: Map<string, Array<{ voter: string; type: string }>>,
  key: string,
  voter: string,
  type: string,
) {
  const list = votes.get(key);
  if (list) list.push({ voter, type });
  else votes.set(key, [{ voter, type }]);
}

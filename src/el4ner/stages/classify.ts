/**
 * Stage 3, span classification (precision): every classifier (the backbones, or the single model)
 * types every span of the union in one call, `none` for a span that is not an entity; the SLM
 * voter, when it takes part, votes the type it gave the span or `none` (spread by its span
 * probabilities with soft votes, src/el4ner/stages/slm.ts). The votes go to the
 * decision stage.
 */
import { nameSpan } from '../../answers/grounding.js';
import type { TypeMapper } from '../../answers/labels.js';
import type { AnswerReader } from '../../answers/resolve.js';
import { readTypeAnswer } from '../../answers/shapes.js';
import { choiceDistributionsById, locateTokens } from '../../answers/token-logprobs.js';
import { NONE_TYPE, type Span } from '../../core/types.js';
import type { ChatResponse, JsonSchema } from '../../engines/types.js';
import { ask, type Prompt, withDemos } from '../calls.js';
import {
  itemListTokens,
  numberedSpans,
  type PromptContext,
  STEPS,
  stageMessages,
  strictObject,
} from '../prompts.js';
import type { Stage } from '../stage.js';
import { type StagePlan, spanKey } from '../state.js';
import type { Vote } from '../voting/decide.js';
import type { VoteKind } from '../voting/rules.js';
import { promptContext } from './extract.js';
import { slmSoftVotes } from './slm.js';

export function typeAnswerSchema(labels: readonly string[]): JsonSchema {
  return strictObject({
    answers: {
      type: 'array',
      items: strictObject({
        id: { type: 'integer' },
        type: { type: 'string', enum: [...labels, NONE_TYPE] },
      }),
    },
  });
}

/**
 * Span classification: every candidate span of the sentence typed in one call. The shared
 * examples show each pool sentence's entities with their types and spans that are not entities.
 */
export function classifyPrompt(
  ctx: PromptContext,
  sentence: string,
  spans: readonly Span[],
  votes: VoteKind = 'hard',
): Prompt {
  const longest = Math.max(NONE_TYPE.length, ...ctx.labels.map((l) => l.length));
  return withDemos(ctx, (c) => ({
    messages: stageMessages(c, sentence, STEPS.type, {
      head: 'Spans',
      lines: numberedSpans(sentence, spans),
    }),
    jsonSchema: { name: 'types', schema: typeAnswerSchema(c.labels) },
    maxTokens: itemListTokens(spans.length, 24 + longest),
    // Every choice should be listed where the type is written: the labels and 'none' (at most 20).
    ...(votes === 'soft' ? { topLogprobs: Math.min(20, c.labels.length + 1) } : {}),
  }));
}

export interface TypedSpans {
  /** Label or 'none' per 1-based span id. */
  types: Map<number, string>;
  /** Soft votes: the model's probability of each label and 'none' per span id, from its token logprobs. */
  probs?: Map<number, Record<string, number>>;
  /** Spans answered with a type that maps to no label. */
  invalid: number;
  /** Spans with no answer. */
  missing: number;
}

/**
 * Reads the types of the numbered `spans` of `text`, mapping each to the label set; an unknown
 * type drops that span's vote only. Says what it mapped and dropped.
 */
export function typeReader(
  text: string,
  spans: readonly Span[],
  typeOf: TypeMapper,
  soft?: { labels: readonly string[] },
): AnswerReader<TypedSpans> {
  const items = spans.map((s) => {
    const n = nameSpan(text, s);
    return n.occurrence !== undefined ? { text: n.text, occurrence: n.occurrence } : { text: n.text };
  });
  return {
    read(json) {
      const raw = readTypeAnswer(json, items);
      if (raw.types.size === 0 && spans.length > 0)
        return { repairs: [], problem: `no type for any of the ${spans.length} spans` };
      const types = new Map<number, string>();
      const repairs: string[] = [];
      if (raw.shape) repairs.push(`shape read leniently: ${raw.shape}`);
      const mapped = new Map<string, string>();
      const unknown = new Set<string>();
      let invalid = 0;
      for (const [id, t] of raw.types) {
        const m = typeOf(t);
        if (!m) {
          invalid++;
          unknown.add(t);
          continue;
        }
        if (m.how !== 'exact') mapped.set(t, `${m.type} (${m.how})`);
        types.set(id, m.type);
      }
      for (const [t, to] of mapped) repairs.push(`type mapped: ${JSON.stringify(t)} -> ${to}`);
      if (invalid > 0)
        repairs.push(
          `dropped types: ${invalid} outside the label set (${[...unknown].map((u) => JSON.stringify(u)).join(', ')})`,
        );
      const missing = spans.length - raw.types.size;
      if (missing > 0) repairs.push(`missing answers: ${missing} of ${spans.length} span(s)`);
      return { value: { types, invalid, missing }, repairs };
    },
    validate: (v) =>
      [...v.types.keys()].every((id) => Number.isInteger(id) && id >= 1 && id <= spans.length)
        ? undefined
        : 'an answer for an item that was not asked',
    ...(soft
      ? {
          withResponse(v: TypedSpans, response: ChatResponse): TypedSpans {
            if (!response.logprobs?.length) return v;
            const located = locateTokens(response.text, response.logprobs);
            const read = choiceDistributionsById(response.text, located, 'type', [...soft.labels, NONE_TYPE]);
            // Only where the probabilities were given to the very type read for that span.
            const probs = new Map(
              [...read].filter(([id, d]) => v.types.get(id) === d.written).map(([id, d]) => [id, d.probs]),
            );
            return probs.size > 0 ? { ...v, probs } : v;
          },
        }
      : {}),
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
    const prompt = classifyPrompt(promptContext(parts, state.demos), state.text, spans, parts.votes);
    const reader = typeReader(
      state.text,
      spans,
      parts.typeOf,
      parts.votes === 'soft' ? { labels: parts.labels } : undefined,
    );
    const answers = await Promise.all(
      models.map((m) => ask(parts, m, 'classify', prompt, reader, logs, state)),
    );
    answers.forEach((a, i) => {
      if (!a) return;
      state.counts.invalidTypes += a.invalid;
      state.counts.missingAnswers += a.missing;
      state.counts.softVotes += a.probs?.size ?? 0;
      spans.forEach((s, j) => {
        const t = a.types.get(j + 1);
        if (t !== undefined) addVote(state.votes, spanKey(s), models[i], t, a.probs?.get(j + 1));
      });
    });
    if (slmVotes && parts.slm && state.slm) {
      const soft = await slmSoftVotes(state, parts, logs, spans);
      state.counts.softVotes += soft?.size ?? 0;
      for (const s of spans) {
        const key = spanKey(s);
        addVote(state.votes, key, parts.slm.name, state.slm.get(key) ?? NONE_TYPE, soft?.get(key));
      }
    }
  },
};

export function addVote(
  votes: Map<string, Vote[]>,
  key: string,
  voter: string,
  type: string,
  probs?: Record<string, number>,
) {
  const vote: Vote = probs ? { voter, type, probs } : { voter, type };
  const list = votes.get(key);
  if (list) list.push(vote);
  else votes.set(key, [vote]);
}

/**
 * Prompts of the EL4NER stages and the JSON schemas of their answers.
 *
 * Layout, for prefix caching (vLLM automatic prefix caching, node-llama-cpp context reuse): the
 * system message holds the instructions, the user message the demonstrations and then the input
 * sentence LAST. Everything before the sentence depends only on the stage, the label set and the
 * demonstrations, so it is byte-identical across backbones and across sentences that share
 * demonstrations. Demonstrations come from pool sentences with their gold entities.
 */

import type { NerDocument, Span } from '../../core/types.js';
import { NONE_TYPE } from '../../core/types.js';
import type { ChatMessage, JsonSchema } from '../../engines/types.js';

export interface PromptContext {
  labels: readonly string[];
  descriptions?: Readonly<Record<string, string>>;
  /** Demonstrations (pool sentences with gold entities), most similar first. */
  demos: readonly NerDocument[];
}

export interface Prompt {
  messages: ChatMessage[];
  jsonSchema: { name: string; schema: JsonSchema };
}

function labelList(ctx: PromptContext): string {
  return ctx.labels
    .map((l) => {
      const d = ctx.descriptions?.[l];
      return d ? `- ${l}: ${d}` : `- ${l}`;
    })
    .join('\n');
}

/** Number of times `needle` occurs in `hay` before offset `before` (0-based occurrence index). */
function occurrenceIndex(hay: string, needle: string, at: number): number {
  let k = 0;
  let i = hay.indexOf(needle);
  while (i >= 0 && i < at) {
    k++;
    i = hay.indexOf(needle, i + 1);
  }
  return k;
}

function countOccurrences(hay: string, needle: string): number {
  let k = 0;
  let i = hay.indexOf(needle);
  while (i >= 0) {
    k++;
    i = hay.indexOf(needle, i + 1);
  }
  return k;
}

/** A span as shown in a demonstration answer: a plain string, or {text, occurrence} when it repeats. */
function mentionJson(doc: { text: string }, s: Span): string | { text: string; occurrence: number } {
  if (countOccurrences(doc.text, s.text) <= 1) return s.text;
  return { text: s.text, occurrence: occurrenceIndex(doc.text, s.text, s.start) + 1 };
}

function sortedEntities(doc: NerDocument) {
  return [...doc.entities].sort((a, b) => a.start - b.start || a.end - b.end);
}

const SPAN_ITEM: JsonSchema = {
  anyOf: [
    { type: 'string' },
    {
      type: 'object',
      properties: { text: { type: 'string' }, occurrence: { type: 'integer', minimum: 1 } },
      required: ['text'],
    },
  ],
};

export const spanAnswerSchema: JsonSchema = {
  type: 'object',
  properties: { spans: { type: 'array', items: SPAN_ITEM } },
  required: ['spans'],
};

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

export function jointAnswerSchema(labels: readonly string[]): JsonSchema {
  return {
    type: 'object',
    properties: {
      entities: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            text: { type: 'string' },
            type: { type: 'string', enum: [...labels] },
            occurrence: { type: 'integer', minimum: 1 },
          },
          required: ['text', 'type'],
        },
      },
    },
    required: ['entities'],
  };
}

const REPEAT_RULE =
  'Copy every span exactly as it is written in the sentence. If the same words occur several times and only ' +
  'some occurrences are entities, give {"text": ..., "occurrence": n} where n counts occurrences from 1.';

function extractInstructions(ctx: PromptContext): string {
  return (
    'You are an expert in named entity recognition. Find every span of the sentence that is a named entity ' +
    'of one of these types:\n' +
    labelList(ctx) +
    '\nList the spans only, without types, in the order they appear. ' +
    REPEAT_RULE +
    ' Answer with JSON: {"spans": [...]}. Answer {"spans": []} when there is none.'
  );
}

/** Zero-shot pre-extraction of candidate spans (retrieval stage, no demonstrations). */
export function preExtractPrompt(ctx: Omit<PromptContext, 'demos'>, sentence: string): Prompt {
  return {
    messages: [
      { role: 'system', content: extractInstructions({ ...ctx, demos: [] }) },
      { role: 'user', content: `Sentence: ${sentence}\nAnswer:` },
    ],
    jsonSchema: { name: 'prespans', schema: spanAnswerSchema },
  };
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
      { role: 'user', content: `${demos ? `Examples:\n\n${demos}\n\n` : ''}Sentence: ${sentence}\nAnswer:` },
    ],
    jsonSchema: { name: 'spans', schema: spanAnswerSchema },
  };
}

function numbered(spans: ReadonlyArray<{ text: string; type?: string }>): string {
  return spans.map((s, i) => `${i + 1}. ${s.text}${s.type ? ` (${s.type})` : ''}`).join('\n');
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
        content: `${demos ? `Examples:\n\n${demos}\n\n` : ''}Sentence: ${sentence}\nSpans:\n${numbered(spans)}\nAnswer:`,
      },
    ],
    jsonSchema: { name: 'types', schema: typeAnswerSchema(ctx.labels) },
  };
}

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
        content: `${demos ? `Examples:\n\n${demos}\n\n` : ''}Sentence: ${sentence}\nEntities:\n${numbered(entities)}\nAnswer:`,
      },
    ],
    jsonSchema: { name: 'verdicts', schema: verifyAnswerSchema },
  };
}

/** Joint extract-and-type (decomposition off): one call finds and types the entities. */
export function jointPrompt(ctx: PromptContext, sentence: string): Prompt {
  const instructions =
    'You are an expert in named entity recognition. Find every named entity in the sentence and give its ' +
    `type, one of:\n${labelList(ctx)}\n${REPEAT_RULE} ` +
    'Answer with JSON: {"entities": [{"text": "...", "type": "..."}, ...]}. Answer {"entities": []} when there is none.';
  const demos = ctx.demos
    .map((d) => {
      const entities = sortedEntities(d).map((e) => {
        const m = mentionJson(d, e);
        return typeof m === 'string' ? { text: m, type: e.type } : { ...m, type: e.type };
      });
      return `Sentence: ${d.text}\nAnswer: ${JSON.stringify({ entities })}`;
    })
    .join('\n\n');
  return {
    messages: [
      { role: 'system', content: instructions },
      { role: 'user', content: `${demos ? `Examples:\n\n${demos}\n\n` : ''}Sentence: ${sentence}\nAnswer:` },
    ],
    jsonSchema: { name: 'entities', schema: jointAnswerSchema(ctx.labels) },
  };
}

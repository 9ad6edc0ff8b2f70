/**
 * What the prompts of the EL4NER stages share. Layout, for prefix caching (vLLM automatic prefix
 * caching, node-llama-cpp context reuse): the system message holds the instructions, the user
 * message the demonstrations and then the input sentence LAST. Everything before the sentence
 * depends only on the stage, the label set and the demonstrations, so it is byte-identical across
 * backbones and across sentences that share demonstrations. Each stage module builds its own
 * prompt from these pieces.
 */
import type { NerDocument, Span } from '../core/types.js';
import type { JsonSchema } from '../engines/types.js';

export interface PromptContext {
  labels: readonly string[];
  descriptions?: Readonly<Record<string, string>>;
  /** Demonstrations (pool sentences with gold entities), most similar first. */
  demos: readonly NerDocument[];
}

export function labelList(ctx: Pick<PromptContext, 'labels' | 'descriptions'>): string {
  return ctx.labels
    .map((l) => {
      const d = ctx.descriptions?.[l];
      return d ? `- ${l}: ${d}` : `- ${l}`;
    })
    .join('\n');
}

/** Number of times `needle` occurs in `hay` before offset `at` (0-based occurrence index). */
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
export function mentionJson(doc: { text: string }, s: Span): string | { text: string; occurrence: number } {
  if (countOccurrences(doc.text, s.text) <= 1) return s.text;
  return { text: s.text, occurrence: occurrenceIndex(doc.text, s.text, s.start) + 1 };
}

export function sortedEntities(doc: NerDocument) {
  return [...doc.entities].sort((a, b) => a.start - b.start || a.end - b.end);
}

export function numbered(spans: ReadonlyArray<{ text: string; type?: string }>): string {
  return spans.map((s, i) => `${i + 1}. ${s.text}${s.type ? ` (${s.type})` : ''}`).join('\n');
}

export const REPEAT_RULE =
  'Copy every span exactly as it is written in the sentence. If the same words occur several times and only ' +
  'some occurrences are entities, give {"text": ..., "occurrence": n} where n counts occurrences from 1.';

export const SPAN_ITEM: JsonSchema = {
  anyOf: [
    { type: 'string' },
    {
      type: 'object',
      properties: { text: { type: 'string' }, occurrence: { type: 'integer', minimum: 1 } },
      required: ['text'],
    },
  ],
};

/** The user message: examples (when there are demonstrations), then the sentence last. */
export function withExamples(examples: string, query: string): string {
  return `${examples ? `Examples:\n\n${examples}\n\n` : ''}${query}`;
}

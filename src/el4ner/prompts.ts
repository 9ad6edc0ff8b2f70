/**
 * What the prompts of the EL4NER stages share. Layout, for prefix caching (vLLM automatic prefix
 * caching, node-llama-cpp context reuse): the system message holds the instructions, the user
 * message the demonstrations and then the input sentence LAST. Everything before the sentence
 * depends only on the stage, the label set and the demonstrations, so it is byte-identical across
 * backbones and across sentences that share demonstrations. Each stage module builds its own
 * prompt from these pieces.
 *
 * Spans are named by one rule everywhere (`nameSpan` in answers/grounding.ts): by their text, with
 * their occurrence when the string occurs more than once, so repeated strings are told apart in
 * demonstrations, in the numbered lists of classification and verification, and in answers.
 */
import { nameSpan } from '../answers/grounding.js';
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

/** A span as a demonstration answer shows it: `{text, occurrence}`, occurrence null unless the string repeats. */
export function mentionJson(doc: { text: string }, s: Span): { text: string; occurrence: number | null } {
  const n = nameSpan(doc.text, s);
  return { text: n.text, occurrence: n.occurrence ?? null };
}

export function sortedEntities(doc: NerDocument) {
  return [...doc.entities].sort((a, b) => a.start - b.start || a.end - b.end);
}

/** A span as a numbered list names it: `Carly`, `Carly (occurrence 2 of 3)`, `Carly (in "the iCarly show")`. */
export function itemName(text: string, span: Span): string {
  const n = nameSpan(text, span);
  if (n.occurrence !== undefined) return `${n.text} (occurrence ${n.occurrence} of ${n.of})`;
  if (n.context !== undefined) return `${n.text} (in "${n.context}")`;
  return n.text;
}

/** Numbered spans of `text` (classification items): `1. Obama`. */
export function numberedSpans(text: string, spans: readonly Span[]): string {
  return spans.map((s, i) => `${i + 1}. ${itemName(text, s)}`).join('\n');
}

/** Numbered typed spans of `text` (verification items): `1. Obama: PER`. */
export function numberedTyped(text: string, items: ReadonlyArray<Span & { type: string }>): string {
  return items.map((s, i) => `${i + 1}. ${itemName(text, s)}: ${s.type}`).join('\n');
}

export const REPEAT_RULE =
  'Copy every span exactly as it is written in the sentence. Give each span as {"text": ..., "occurrence": null}; ' +
  'when the same words occur several times in the sentence, "occurrence" is n for the n-th of them (counting from 1).';

/** A span of an answer: strict-mode friendly (every property required, none extra; null for "unique"). */
export const SPAN_ITEM: JsonSchema = {
  type: 'object',
  properties: { text: { type: 'string' }, occurrence: { type: ['integer', 'null'] } },
  required: ['text', 'occurrence'],
  additionalProperties: false,
};

/** An object schema as strict structured outputs want it: every property required, none extra. */
export function strictObject(properties: Record<string, JsonSchema>): JsonSchema {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
  };
}

/** The user message: examples (when there are demonstrations), then the sentence last. */
export function withExamples(examples: string, query: string): string {
  return `${examples ? `Examples:\n\n${examples}\n\n` : ''}${query}`;
}

/**
 * Completion tokens an answer of about `chars` characters of JSON may need. Three characters per
 * token is on the safe side for JSON punctuation and short words; a margin covers the wrapper.
 */
export function tokensFor(chars: number): number {
  return 32 + Math.ceil(chars / 3);
}

/**
 * Answer size of a span list over `text`: spans are substrings (half the text at most), about one
 * per three words at most (CoNLL-2003 has one per eight), each with ~30 characters of JSON around it.
 */
export function spanListTokens(text: string, perItemExtra = 0): number {
  const words = text.split(/\s+/).filter(Boolean).length;
  const cjk = (text.match(/[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]/gu) ?? []).length;
  const items = Math.ceil((words + cjk / 2) / 3);
  return tokensFor(Math.ceil(0.5 * text.length) + items * (30 + perItemExtra));
}

/** Answer size of one answer per numbered item, `perItem` characters each. */
export function itemListTokens(items: number, perItem: number): number {
  return tokensFor(16 + items * perItem);
}

/**
 * What the prompts of the EL4NER stages share, laid out for prefix caching (vLLM automatic
 * prefix caching, a llama.cpp slot, node-llama-cpp context reuse): every prompt of every stage
 * begins with the same system message (the instructions of the whole task, every step and its
 * answer format, the labels with their descriptions), then the user message gives the sentence,
 * then the demonstrations in one stage-neutral form (each pool sentence with its entities and
 * types, the spans in it that are not entities, and a type that would be wrong), and only then
 * the step asked for and its items. So the stages of one sentence share everything up to the step
 * (zero-shot pre-extraction shares the sentence), the backbones get byte-identical prompts, and
 * a prefix cache serves each model the instructions once, the sentence and its demonstrations
 * once per sentence, and only the step's tail per call (bench/prompt-cache.ts measures it).
 *
 * Spans are named by one rule everywhere (`nameSpan` in answers/grounding.ts): by their text, with
 * their occurrence when the string occurs more than once, so repeated strings are told apart in
 * demonstrations, in the numbered lists of classification and verification, and in answers.
 */
import { nameSpan } from '../answers/grounding.js';
import { type NerDocument, NONE_TYPE, type Span } from '../core/types.js';
import type { ChatRequest, JsonSchema } from '../engines/types.js';
import { negativeSpans, sortedEntities, verificationItems } from './negatives.js';

export { sortedEntities };

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

export const ITEM_RULE =
  'When the same words occur several times in the sentence, an item says which occurrence it is ' +
  '("occurrence 2 of 3": the second time those words appear).';

/** The step a request asks for: its name opens the tail of the user message. */
export const STEPS = {
  find: 'Step 1 (find).',
  type: 'Step 2 (type).',
  check: 'Step 3 (check).',
  joint: 'Find and type.',
} as const;

/** The system message of every stage: the whole task, so it is one cached prefix for all of them. */
export function taskInstructions(ctx: Pick<PromptContext, 'labels' | 'descriptions'>): string {
  return [
    'You are an expert in named entity recognition. You annotate one sentence, one step per request; ' +
      'the request gives the sentence, examples when there are any, and the step with what it needs.',
    '',
    'Entity types:',
    labelList(ctx),
    '',
    'Steps:',
    `${STEPS.find} List every span of the sentence that is a named entity of one of these types, without types, in the order they appear. Answer {"spans": [{"text": "...", "occurrence": null}, ...]}, or {"spans": []} when there is none.`,
    `${STEPS.type} Each numbered item is a candidate span of the sentence; some are entities, some are not. Give each its type, one of the types above, or "${NONE_TYPE}" when it is not an entity of these types (also when it is only part of an entity, or runs past one). Answer {"answers": [{"id": 1, "type": "..."}, ...]}, one answer per item.`,
    `${STEPS.check} Each numbered item is a span of the sentence with the type it was given. Answer "yes" when the span is an entity of exactly that type in this sentence, else "no" (a wrong type, not an entity, or only part of one). Answer {"answers": [{"id": 1, "answer": "yes"}, ...]}, one answer per item.`,
    `${STEPS.joint} (instead of steps 1 and 2) List every named entity of the sentence with its type. Answer {"entities": [{"text": "...", "occurrence": null, "type": "..."}, ...]}, or {"entities": []} when there is none.`,
    '',
    `${REPEAT_RULE} ${ITEM_RULE}`,
    'Each example is another sentence and, after "=>", its entities with their types ("none": it has none), then spans in it that are not entities ("not: ...") and types an entity does not have ("not LOC: ..."). Answer with JSON only.',
  ].join('\n');
}

/**
 * One demonstration, stage-neutral and compact:
 *   Example: <the pool sentence>
 *   => Angela Merkel (PER); Berlin (LOC) | not: Monday; Merkel | not LOC: Angela Merkel
 * ("=> none" for an entity-free sentence; the last part is a wrong type of an entity).
 */
function exampleOf(d: NerDocument, labels: readonly string[]): string {
  const names = (spans: readonly Span[]) => spans.map((s) => itemName(d.text, s)).join('; ');
  const ents = sortedEntities(d);
  const parts = [ents.length ? ents.map((e) => `${itemName(d.text, e)} (${e.type})`).join('; ') : 'none'];
  const negatives = negativeSpans(d);
  if (negatives.length) parts.push(`not: ${names(negatives)}`);
  // A wrong type of an entity (a label on a non-entity adds nothing to `not`).
  const isEntity = new Set(ents.map((e) => `${e.start}:${e.end}`));
  for (const w of verificationItems(d, labels))
    if (w.answer === 'no' && isEntity.has(`${w.start}:${w.end}`))
      parts.push(`not ${w.type}: ${itemName(d.text, w)}`);
  return `Example: ${d.text}\n=> ${parts.join(' | ')}`;
}

/**
 * The messages of one stage's request, laid out for prefix caching: the task-wide system message,
 * then the sentence, the stage-neutral demonstrations (when `ctx` has them: pre-extraction is
 * zero-shot), and the step with its items last.
 */
export function stageMessages(
  ctx: Pick<PromptContext, 'labels' | 'descriptions'> & { demos?: PromptContext['demos'] },
  sentence: string,
  step: string,
  items?: { head: string; lines: string },
): ChatRequest['messages'] {
  const examples = ctx.demos?.length
    ? `Examples:\n${ctx.demos.map((d) => exampleOf(d, ctx.labels)).join('\n')}\n\n`
    : '';
  const list = items ? `\n${items.head}:\n${items.lines}` : '';
  return [
    { role: 'system', content: taskInstructions(ctx) },
    { role: 'user', content: `Sentence: ${sentence}\n\n${examples}${step}${list}\nAnswer:` },
  ];
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

/**
 * Zero-shot LLM pre-extraction of pool spans for `el4ner index --spans llm`: every backbone
 * gets the pipeline's pre-extraction prompt, the answers are grounded in the text and their
 * union is the sentence's span set (EL4NER, retrieval stage). It reuses the pipeline's prompt,
 * answer parser, grounding and union so both paths pre-extract in the same way. A model call
 * that fails counts as "no spans" from that model and is tallied in `failures`.
 */
import type { Span } from '../core/types.js';
import type { Engine } from '../engines/types.js';
import { groundMentions } from '../pipeline/grounding.js';
import { answerJson, parseSpanAnswer } from '../pipeline/parse.js';
import { preExtractPrompt } from '../pipeline/prompts/index.js';
import { unionSpans } from '../pipeline/voting.js';

export interface LlmPreExtractor {
  (text: string): Promise<Span[]>;
  /** Failed calls per model. */
  failures: Map<string, number>;
  identity: string;
}

export function createLlmPreExtractor(
  engines: ReadonlyArray<Pick<Engine, 'name' | 'identity' | 'chat'>>,
  labels: readonly string[],
  descriptions?: Readonly<Record<string, string>>,
): LlmPreExtractor {
  const failures = new Map<string, number>();
  const fn = (async (text: string): Promise<Span[]> => {
    const prompt = preExtractPrompt({ labels, descriptions }, text);
    const perModel = await Promise.all(
      engines.map(async (e) => {
        try {
          const r = await e.chat({
            messages: prompt.messages,
            jsonSchema: prompt.jsonSchema,
            stage: 'retrieval',
            temperature: 0,
          });
          return {
            model: e.name,
            spans: groundMentions(text, parseSpanAnswer(answerJson(r)).mentions).spans,
          };
        } catch {
          failures.set(e.name, (failures.get(e.name) ?? 0) + 1);
          return { model: e.name, spans: [] as Span[] };
        }
      }),
    );
    return unionSpans(perModel).map(({ start, end, text: t }) => ({ start, end, text: t }));
  }) as LlmPreExtractor;
  fn.failures = failures;
  fn.identity = `llm-pre-extract:v1:${engines.map((e) => e.identity).join('+')}:${[...labels].sort().join(',')}`;
  return fn;
}

/**
 * Stage 1, demonstration retrieval. For span-level retrieval every backbone first extracts spans
 * zero-shot (the extraction prompt without demonstrations); the union of the grounded spans is
 * the query span set of SpanSim, and the demonstration source returns the k most similar pool
 * sentences. The same pre-extraction labels pool sentences for `retrieval.poolSpans: llm` and
 * `el4ner index --spans llm` (createLlmPreExtractor), so both build the same index.
 */

import { FailureLog } from '../../core/failures.js';
import type { Span } from '../../core/types.js';
import type { Engine } from '../../engines/types.js';
import { askModel, engineOf, type Prompt, RepairLog, type RunLogs } from '../calls.js';
import type { PromptContext } from '../prompts.js';
import type { Stage } from '../stage.js';
import { unionSpans } from '../voting/union.js';
import { extractInstructions, spanAnswerSchema, spanReader } from './extract.js';

/** Zero-shot pre-extraction of candidate spans (no demonstrations). */
export function preExtractPrompt(ctx: Omit<PromptContext, 'demos'>, sentence: string): Prompt {
  return {
    messages: [
      { role: 'system', content: extractInstructions(ctx) },
      { role: 'user', content: `Sentence: ${sentence}\nAnswer:` },
    ],
    jsonSchema: { name: 'prespans', schema: spanAnswerSchema },
  };
}

export interface PreExtraction {
  spans: Span[];
  hallucinated: number;
  ambiguous: number;
}

/** The union of the spans every model finds zero-shot in `text`; a failed model adds nothing. */
export async function preExtractSpans(
  engines: readonly Engine[],
  ctx: Omit<PromptContext, 'demos'>,
  text: string,
  logs: RunLogs,
  warnings?: Parameters<typeof askModel>[5],
): Promise<PreExtraction> {
  const prompt = preExtractPrompt(ctx, text);
  const answers = await Promise.all(
    engines.map((e) => askModel(e, 'retrieval', prompt, spanReader(text), logs, warnings)),
  );
  let hallucinated = 0;
  let ambiguous = 0;
  const perModel = answers.map((g, i) => {
    hallucinated += g?.hallucinated ?? 0;
    ambiguous += g?.ambiguous ?? 0;
    return { model: engines[i].name, spans: g?.spans ?? [] };
  });
  return {
    spans: unionSpans(perModel).map(({ start, end, text: t }) => ({ start, end, text: t })),
    hallucinated,
    ambiguous,
  };
}

/** The identity of a pre-extraction (models, labels, prompt version): part of the index settings hash. */
export function preExtractIdentity(
  engines: readonly Pick<Engine, 'identity'>[],
  labels: readonly string[],
): string {
  return `llm-pre-extract:v1:${engines.map((e) => e.identity).join('+')}:${[...labels].sort().join(',')}`;
}

export interface LlmPreExtractor {
  (text: string): Promise<Span[]>;
  /** Failed calls, per model and stage. */
  failures: FailureLog;
  identity: string;
}

/** Pre-extraction of pool sentences, for the pool index (`retrieval.poolSpans: llm`, `el4ner index --spans llm`). */
export function createLlmPreExtractor(
  engines: readonly Engine[],
  labels: readonly string[],
  descriptions?: Readonly<Record<string, string>>,
): LlmPreExtractor {
  const logs: RunLogs = { failures: new FailureLog(), repairs: new RepairLog(), reasks: { count: 0 } };
  const fn = (async (text: string) =>
    (await preExtractSpans(engines, { labels, descriptions }, text, logs)).spans) as LlmPreExtractor;
  fn.failures = logs.failures;
  fn.identity = preExtractIdentity(engines, labels);
  return fn;
}

export const retrieveStage: Stage = {
  name: 'retrieval',
  calls: (parts) => (parts.switches.retrieval === 'span-level' && parts.k > 0 ? parts.backbones.length : 0),
  async run(state, parts, logs) {
    if (!parts.demos || parts.k === 0) return;
    let querySpans: Span[] = [];
    if (parts.switches.retrieval === 'span-level') {
      const pre = await preExtractSpans(
        parts.backbones.map((b) => engineOf(parts.engines, b)),
        { labels: parts.labels, descriptions: parts.descriptions },
        state.text,
        logs,
        state.warnings,
      );
      querySpans = pre.spans;
      state.preSpans = pre.spans;
    }
    state.demos = await parts.demos.select(state.text, querySpans, {
      mode: parts.switches.retrieval,
      k: parts.k,
    });
  },
};

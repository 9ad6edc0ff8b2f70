/**
 * Stage 1, demonstration retrieval. For span-level retrieval every backbone first extracts spans
 * zero-shot (the extraction prompt without demonstrations); the union of the grounded spans is
 * the query span set of SpanSim, and the demonstration source returns the k most similar pool
 * sentences. The same pre-extraction labels pool sentences for `retrieval.poolSpans: llm` and
 * `el4ner index --spans llm` (createLlmPreExtractor), so both build the same index.
 */

import { NoAnswerError } from '../../core/errors.js';
import type { FailureLog } from '../../core/failures.js';
import type { Span } from '../../core/types.js';
import type { Engine } from '../../engines/types.js';
import { askModel, type CallSink, engineOf, newRunLogs, type Prompt, type RunLogs } from '../calls.js';
import { modelDocument } from '../model-text.js';
import { type PromptContext, STEPS, spanListTokens, stageMessages } from '../prompts.js';
import type { Stage } from '../stage.js';
import { unionSpans } from '../voting/union.js';
import { spanAnswerSchema, spanReader } from './extract.js';

/** Zero-shot pre-extraction of candidate spans (no demonstrations). */
export function preExtractPrompt(ctx: Omit<PromptContext, 'demos'>, sentence: string): Prompt {
  return {
    // zero-shot: the context's labels only, never its demonstrations
    messages: stageMessages({ labels: ctx.labels, descriptions: ctx.descriptions }, sentence, STEPS.find),
    jsonSchema: { name: 'prespans', schema: spanAnswerSchema },
    maxTokens: spanListTokens(sentence),
  };
}

export interface PreExtraction {
  spans: Span[];
  /** Each model's grounded spans, for the models whose answer was usable. */
  perModel: Map<string, Span[]>;
  hallucinated: number;
  ambiguous: number;
}

/** The union of the spans every model finds zero-shot in `text`; a failed model adds nothing. */
export async function preExtractSpans(
  engines: readonly Engine[],
  ctx: Omit<PromptContext, 'demos'>,
  text: string,
  logs: RunLogs,
  opts: { sink?: CallSink; maxTokens?: ReadonlyMap<string, number> } = {},
): Promise<PreExtraction> {
  const prompt = preExtractPrompt(ctx, text);
  const answers = await Promise.all(
    engines.map((e) =>
      askModel(e, 'retrieval', prompt, spanReader(text), logs, {
        ...(opts.sink ? { sink: opts.sink } : {}),
        ...(opts.maxTokens?.has(e.name) ? { defaultMaxTokens: opts.maxTokens.get(e.name) } : {}),
      }),
    ),
  );
  let hallucinated = 0;
  let ambiguous = 0;
  const usable = new Map<string, Span[]>();
  const perModel = answers.map((g, i) => {
    hallucinated += g?.hallucinated ?? 0;
    ambiguous += g?.ambiguous ?? 0;
    if (g) usable.set(engines[i].name, g.spans);
    return { model: engines[i].name, spans: g?.spans ?? [] };
  });
  return {
    spans: unionSpans(perModel).map(({ start, end, text: t }) => ({ start, end, text: t })),
    perModel: usable,
    hallucinated,
    ambiguous,
  };
}

/**
 * The identity of a pre-extraction (models, labels and their descriptions, which the prompt shows,
 * prompt version): part of the index settings hash. Without descriptions it is what it was before
 * they were part of it, so those indexes stay up to date.
 */
export function preExtractIdentity(
  engines: readonly Pick<Engine, 'identity'>[],
  labels: readonly string[],
  descriptions?: Readonly<Record<string, string>>,
): string {
  const sorted = [...labels].sort();
  const described = sorted.filter((l) => descriptions?.[l]).map((l) => [l, descriptions![l]]);
  const withDescriptions = described.length ? `:descriptions=${JSON.stringify(described)}` : '';
  return `llm-pre-extract:v2:${engines.map((e) => e.identity).join('+')}:${sorted.join(',')}${withDescriptions}`;
}

export interface LlmPreExtractor {
  /** Throws NoAnswerError when no model gave a usable answer. */
  (text: string, doc?: { id: string }): Promise<Span[]>;
  /** Failed calls, per model and stage. */
  failures: FailureLog;
  identity: string;
}

/** Pre-extraction of pool sentences, for the pool index (`retrieval.poolSpans: llm`, `el4ner index --spans llm`). */
export function createLlmPreExtractor(
  engines: readonly Engine[],
  labels: readonly string[],
  descriptions?: Readonly<Record<string, string>>,
  maxTokens?: ReadonlyMap<string, number>,
): LlmPreExtractor {
  const logs = newRunLogs();
  const fn = (async (text: string, doc?: { id: string }) => {
    const pre = await preExtractSpans(engines, { labels, descriptions }, text, logs, { maxTokens });
    // An index is kept and reused while pool and settings are unchanged: one built while no model
    // answered would go on lacking these spans, so no index is built at all.
    if (engines.length > 0 && pre.perModel.size === 0) {
      const id = doc ? ` "${doc.id}"` : '';
      throw new NoAnswerError(
        `no model gave a usable pre-extraction answer for pool sentence${id} (${logs.failures.lines().join('; ')}); nothing was written: index again once the models answer`,
        doc?.id ?? '',
        logs.failures.list(),
      );
    }
    return pre.spans;
  }) as LlmPreExtractor;
  fn.failures = logs.failures;
  fn.identity = preExtractIdentity(engines, labels, descriptions);
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
        { sink: state, ...(parts.maxTokens ? { maxTokens: parts.maxTokens } : {}) },
      );
      querySpans = pre.spans;
      state.preSpans = pre.spans;
      state.zeroShot = pre.perModel;
    }
    // The pool is searched in its own form (spaced CJK stays spaced); the prompts get the demonstrations as the model sees text.
    const demos = await parts.demos.select(state.view.source, querySpans.map(state.view.toSource), {
      mode: parts.switches.retrieval,
      k: parts.k,
      entityFree: entityFreeSlots(parts.k),
    });
    state.demos = demos.map(modelDocument);
  },
};

/** Demonstration slots kept for an entity-free pool sentence when none is among the k retrieved (see DemoQuery). */
export function entityFreeSlots(k: number): number {
  return k >= 3 ? 1 : 0;
}

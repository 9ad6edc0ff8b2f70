/**
 * The demonstration source every method draws from: the k pool sentences most similar to a
 * chunk, by the configured retrieval mode. A pool sentence identical to the query is never its
 * own demonstration (it is excluded before the top k are taken, so k demonstrations come back).
 * The query-time settings (POS weights, which word gives a span's POS) are the caller's, so an
 * index folder built with other settings is still queried with the configured ones.
 */
import type { NerDocument, Span } from '../core/types.js';
import type { PosOf } from '../pos/span-pos.js';
import { spansPos } from '../pos/span-pos.js';
import { loadPosTagger } from '../pos/tagger.js';
import type { PosWeights, WeightPresetName } from '../pos/weights.js';
import type { DemonstrationRetriever, RetrievalMode } from './retriever.js';

export interface DemoQuery {
  mode: RetrievalMode;
  k: number;
}

export interface DemoSource {
  /** Number of pool sentences. */
  readonly size: number;
  select(text: string, querySpans: readonly Span[], query: DemoQuery): Promise<NerDocument[]>;
  /** Pool documents, for labels when the config gives none. */
  docs(): readonly NerDocument[];
}

export interface DemoSettings {
  seed: number;
  weights?: WeightPresetName | PosWeights;
  posOf?: PosOf;
}

export function demoSourceFromRetriever(
  retriever: DemonstrationRetriever,
  settings: DemoSettings,
): DemoSource {
  let byText: Map<string, number[]> | undefined;
  const sameText = (text: string) => {
    if (!byText) {
      byText = new Map();
      for (let i = 0; i < retriever.size; i++) {
        const t = retriever.sentence(i).text;
        byText.set(t, [...(byText.get(t) ?? []), i]);
      }
    }
    return byText.get(text) ?? [];
  };
  const posOf = settings.posOf ?? retriever.posOf;
  return {
    size: retriever.size,
    docs: () => retriever.index.docs,
    async select(text, querySpans, { mode, k }) {
      if (mode === 'none' || k === 0 || retriever.size === 0) return [];
      let spans = querySpans.map((s) => ({
        text: s.text,
        start: s.start,
        end: s.end,
        pos: undefined as string | undefined,
      }));
      if (mode === 'span-level' && spans.length > 0) {
        const tagger = await loadPosTagger();
        const pos = spansPos((t) => tagger.tag(t), text, spans, posOf, { entity: true });
        spans = spans.map((s, i) => ({ ...s, pos: pos[i] }));
      }
      const hits = await retriever.retrieve(spans, text, {
        mode,
        k,
        seed: settings.seed,
        exclude: sameText(text),
        ...(settings.weights !== undefined ? { weights: settings.weights } : {}),
      });
      return hits.map((h) => retriever.sentence(h.index));
    },
  };
}

/** A source with the pool's documents but no retrieval (labels only, or retrieval 'none'). */
export function staticDemoSource(docs: readonly NerDocument[]): DemoSource {
  return { size: docs.length, docs: () => docs, select: async () => [] };
}

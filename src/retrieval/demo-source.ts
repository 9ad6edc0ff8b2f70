/**
 * The demonstration source every method draws from: the k pool sentences most similar to a
 * chunk, by the configured retrieval mode. A pool sentence identical to the query is never its
 * own demonstration (it is excluded before the top k are taken, so k demonstrations come back).
 * The query-time settings (POS weights, which word gives a span's POS) are the caller's, so an
 * index folder built with other settings is still queried with the configured ones.
 *
 * Entity-free examples: SpanSim gives a pool sentence without spans the score 0, so span-level
 * retrieval never returns one, and the extraction examples would never show `{"spans": []}`.
 * With `entityFree: n`, when fewer than n of the k sentences retrieved are entity-free, the last
 * (least similar) ones give their place to the entity-free pool sentences most similar to the
 * query by character n-grams (the offline lexical embedder, over the entity-free sentences only).
 */
import type { NerDocument, Span } from '../core/types.js';
import type { PosOf } from '../pos/span-pos.js';
import { spansPos } from '../pos/span-pos.js';
import { loadPosTagger } from '../pos/tagger.js';
import type { PosWeights, WeightPresetName } from '../pos/weights.js';
import { LexicalEmbedder } from './embedders.js';
import type { DemonstrationRetriever, RetrievalMode } from './retriever.js';

export interface DemoQuery {
  mode: RetrievalMode;
  k: number;
  /** Span-level mode: at least this many of the k are entity-free pool sentences, when the pool has them (default 0). */
  entityFree?: number;
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
  const bestEntityFree = entityFreeSearch(retriever);
  return {
    size: retriever.size,
    docs: () => retriever.index.docs,
    async select(text, querySpans, { mode, k, entityFree }) {
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
      const docs = hits.map((h) => retriever.sentence(h.index));
      const want = Math.min(entityFree ?? 0, k - 1);
      if (mode !== 'span-level' || want <= 0) return docs;
      const have = docs.filter((d) => d.entities.length === 0).length;
      if (have >= want) return docs;
      const extra = await bestEntityFree(text, want - have, new Set(sameText(text)));
      const out = [...docs];
      // the entity-free ones replace the least similar sentences that have entities
      for (const d of extra) {
        let at = out.length - 1;
        while (at >= 0 && out[at].entities.length === 0) at--;
        if (at < 0) break;
        out.splice(at, 1);
        out.push(d);
      }
      return out;
    },
  };
}

/** The n entity-free pool sentences most similar to a text by character n-grams (vectors built once, on first use). */
function entityFreeSearch(retriever: DemonstrationRetriever) {
  const lexical = new LexicalEmbedder();
  let free: Promise<{ ids: number[]; vectors: Float32Array[] }> | undefined;
  return async (text: string, n: number, exclude: ReadonlySet<number>): Promise<NerDocument[]> => {
    free ??= (async () => {
      const ids: number[] = [];
      for (let i = 0; i < retriever.size; i++) if (retriever.sentence(i).entities.length === 0) ids.push(i);
      return { ids, vectors: await lexical.embed(ids.map((i) => retriever.sentence(i).text)) };
    })();
    const { ids, vectors } = await free;
    if (ids.length === 0) return [];
    const [q] = await lexical.embed([text]);
    const nz: number[] = [];
    for (let t = 0; t < q.length; t++) if (q[t] !== 0) nz.push(t);
    const scored: Array<{ i: number; score: number }> = [];
    ids.forEach((i, j) => {
      if (exclude.has(i)) return;
      let dot = 0;
      const v = vectors[j];
      for (const t of nz) dot += q[t] * v[t];
      scored.push({ i, score: dot });
    });
    scored.sort((a, b) => b.score - a.score || a.i - b.i);
    return scored.slice(0, n).map((x) => retriever.sentence(x.i));
  };
}

/** A source with the pool's documents but no retrieval (labels only, or retrieval 'none'). */
export function staticDemoSource(docs: readonly NerDocument[]): DemoSource {
  return { size: docs.length, docs: () => docs, select: async () => [] };
}

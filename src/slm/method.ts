/**
 * The supervised tagger alone as a method: the offline default (`el4ner run` with no LLM
 * configured). It calls no model, so its cost table is empty.
 */

import type { DocumentContext } from '../core/context.js';
import {
  type EvaluateOptions,
  inputDocuments,
  type Method,
  type MethodReport,
  outputDocument,
  type TagOptions,
} from '../core/method.js';
import { slmTypes } from '../core/tags.js';
import type { NerDocument, Token } from '../core/types.js';
import { CostLedger } from '../engines/cost.js';
import { evaluate } from '../eval/evaluate.js';
import { formatReport } from '../eval/format.js';
import { perDocumentCounts } from '../eval/strict.js';

/** What the methods need of a supervised tagger (the CRF, the ONNX token classifier: src/slm/load.ts). */
export interface DocumentTagger {
  readonly labels: readonly string[];
  /** Whether `predict` reads a document's context (the CRF's document features). */
  readonly readsContext?: boolean;
  predict(doc: {
    id: string;
    text: string;
    tokens?: Token[];
    context?: DocumentContext;
  }): NerDocument | Promise<NerDocument>;
  close?(): Promise<void>;
}

/** Documents tagged at once (a transformer tagger batches them). */
const BLOCK = 64;

/** The tagger's entities for a document: its own tokens when it has them. */
export async function tagDocument(tagger: DocumentTagger, doc: NerDocument): Promise<NerDocument> {
  return tagger.predict({
    id: doc.id,
    text: doc.text,
    ...(doc.tokens?.length ? { tokens: doc.tokens } : {}),
    ...(doc.context ? { context: doc.context } : {}),
  });
}

export function createSlmMethod(
  tagger: DocumentTagger,
  opts: { name: string; description?: string },
): Method {
  const ledger = new CostLedger();
  const info = {
    kind: 'slm' as const,
    labels: slmTypes(tagger.labels),
    models: [],
    description: `the supervised ${opts.description ?? 'tagger'} alone (${opts.name})`,
  };
  const tag = async (input: Parameters<Method['tag']>[0], o: TagOptions = {}) => {
    const t0 = Date.now();
    const inputs = inputDocuments(input, { context: tagger.readsContext });
    const docs: NerDocument[] = [];
    for (let b = 0; b < inputs.length; b += BLOCK) {
      o.signal?.throwIfAborted();
      const block = inputs.slice(b, b + BLOCK);
      const tagged = await Promise.all(block.map((d) => tagDocument(tagger, d)));
      for (const [j, t] of tagged.entries()) {
        const doc = outputDocument(block[j], t.entities);
        docs.push(doc);
        await o.onDocument?.(doc, b + j);
      }
    }
    return { docs, traces: [], failures: [], seconds: (Date.now() - t0) / 1000 };
  };
  return {
    info,
    tag,
    extract: async (input, o) => (await tag(input, o)).docs,
    async evaluate(gold, o: EvaluateOptions = {}): Promise<MethodReport> {
      const docs = o.limit !== undefined ? gold.slice(0, o.limit) : [...gold];
      const pred = (await tag(docs)).docs;
      const report = evaluate(docs, pred, { bootstrap: 0 });
      return {
        kind: 'slm',
        documents: docs.length,
        micro: report.micro,
        perDocument: perDocumentCounts(docs, pred),
        details: report,
        text: formatReport(report),
      };
    },
    cost: () => ledger.summary(),
    formatCost: () => ledger.format(),
    close: async () => {
      await tagger.close?.();
    },
  };
}

/**
 * The supervised tagger alone as a method: the offline default (`el4ner run` with no LLM
 * configured). It calls no model, so its cost table is empty.
 */
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

/** What the methods need of a supervised tagger (the CRF; any other token tagger with this shape). */
export interface DocumentTagger {
  readonly labels: readonly string[];
  predict(doc: { id: string; text: string; tokens?: Token[] }): NerDocument;
}

/** The tagger's entities for a document: its own tokens when it has them. */
export function tagDocument(tagger: DocumentTagger, doc: NerDocument): NerDocument {
  return tagger.predict({
    id: doc.id,
    text: doc.text,
    ...(doc.tokens?.length ? { tokens: doc.tokens } : {}),
  });
}

export function createSlmMethod(tagger: DocumentTagger, opts: { name: string }): Method {
  const ledger = new CostLedger();
  const info = {
    kind: 'slm' as const,
    labels: slmTypes(tagger.labels),
    models: [],
    description: `the supervised tagger alone (${opts.name})`,
  };
  const tag = async (input: Parameters<Method['tag']>[0], o: TagOptions = {}) => {
    const t0 = Date.now();
    const docs: NerDocument[] = [];
    for (const [i, d] of inputDocuments(input).entries()) {
      o.signal?.throwIfAborted();
      const doc = outputDocument(d, tagDocument(tagger, d).entities);
      docs.push(doc);
      await o.onDocument?.(doc, i);
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
        details: report,
        text: formatReport(report),
      };
    },
    cost: () => ledger.summary(),
    formatCost: () => ledger.format(),
    close: async () => {},
  };
}

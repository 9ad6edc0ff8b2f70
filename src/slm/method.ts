/**
 * The supervised tagger alone as a method: the offline default (`el4ner run` with no LLM
 * configured). It calls no model, so its cost table is empty.
 *
 * A synchronous tagger (the CRF) would hold the event loop for the whole of a long document (a
 * 1 MB text: seconds), so a server could answer nothing else, not even /healthz, and could not
 * stop the work on a timeout. `tagDocument` therefore tags a document longer than `maxChars` in
 * the chunks of the one chunking policy (src/core/chunks.ts: whole sentences, each chunk sees the
 * document's context) and gives the event loop a turn before each chunk, where the abort signal
 * is checked; the method tags a synchronous tagger's documents one at a time that way.
 */

import { setImmediate as nextTurn } from 'node:timers/promises';
import { chunkText, chunkTokens } from '../core/chunks.js';
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
import { countDegraded } from '../run/degraded.js';

/** What the methods need of a supervised tagger (the CRF, the ONNX token classifier: src/slm/load.ts). */
export interface DocumentTagger {
  readonly labels: readonly string[];
  /** Whether `predict` reads a document's context (the CRF's document features). */
  readonly readsContext?: boolean;
  /** Whether `predict` computes on the main thread (the CRF): its documents are tagged one chunk at a time, with turns for the event loop. */
  readonly synchronous?: boolean;
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

export interface TagDocumentOptions {
  /** A document longer than this is tagged chunk by chunk (src/core/chunks.ts), with a turn for the event loop before each. */
  maxChars?: number;
  /** Checked before each chunk: an aborted signal stops the tagging with its reason. */
  signal?: AbortSignal;
}

/**
 * The tagger's entities for a document: its own tokens when it has them. A document longer than
 * `maxChars` is tagged chunk by chunk (whole sentences; a token belongs to the chunk it starts
 * in), each chunk with the document's context, the entities shifted back to document offsets.
 */
export async function tagDocument(
  tagger: DocumentTagger,
  doc: NerDocument,
  opts: TagDocumentOptions = {},
): Promise<NerDocument> {
  const predict = (d: { id: string; text: string; tokens?: Token[] }) =>
    tagger.predict({
      id: doc.id,
      text: d.text,
      ...(d.tokens?.length ? { tokens: d.tokens } : {}),
      ...(doc.context ? { context: doc.context } : {}),
    });
  if (opts.maxChars === undefined || doc.text.length <= opts.maxChars) {
    opts.signal?.throwIfAborted();
    return predict(doc);
  }
  // pieces: [start, end) of the text, with the document's own tokens of that piece when it has them
  const tokens = doc.tokens?.length ? doc.tokens : undefined;
  const pieces: Array<{ start: number; end: number; tokens?: Token[] }> = tokens
    ? chunkTokens(doc.text, tokens, opts.maxChars).map(({ first, last }) => ({
        start: tokens[first].start,
        end: tokens[last - 1].end,
        tokens: tokens.slice(first, last),
      }))
    : chunkText(doc.text, opts.maxChars).map((c) => ({ start: c.start, end: c.start + c.text.length }));
  const entities: NerDocument['entities'] = [];
  for (const p of pieces) {
    await nextTurn();
    opts.signal?.throwIfAborted();
    const local = p.tokens?.map((k) => ({ ...k, start: k.start - p.start, end: k.end - p.start }));
    const tagged = await predict({
      id: doc.id,
      text: doc.text.slice(p.start, p.end),
      ...(local ? { tokens: local } : {}),
    });
    for (const e of tagged.entities) entities.push({ ...e, start: e.start + p.start, end: e.end + p.start });
  }
  return { id: doc.id, text: doc.text, entities };
}

/**
 * Why `wanted` labels cannot be asked of the supervised tagger alone, whose label set `own` is
 * fixed by its training; undefined when they are its own (in any order).
 */
export function fixedLabelsProblem(wanted: readonly string[], own: readonly string[]): string | undefined {
  const set = new Set(wanted);
  if (set.size === own.length && own.every((l) => set.has(l))) return undefined;
  return `${wanted.join(', ')}: the supervised tagger alone (no LLM) tags a fixed label set (${own.join(', ')}) and cannot change it; leave out labels, or configure LLMs (models) to ask for other labels`;
}

export function createSlmMethod(
  tagger: DocumentTagger,
  opts: { name: string; description?: string; maxChars?: number },
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
    const each = { maxChars: opts.maxChars, signal: o.signal };
    // a synchronous tagger takes one document at a time, the event loop getting a turn before each
    const block = tagger.synchronous ? 1 : BLOCK;
    for (let b = 0; b < inputs.length; b += block) {
      if (tagger.synchronous) await nextTurn();
      o.signal?.throwIfAborted();
      const docsHere = inputs.slice(b, b + block);
      const tagged = await Promise.all(docsHere.map((d) => tagDocument(tagger, d, each)));
      for (const [j, t] of tagged.entries()) {
        const doc = outputDocument(docsHere[j], t.entities);
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
        ...countDegraded(pred),
        details: report,
        text: formatReport(report),
      };
    },
    cost: () => ledger.summary(),
    // the supervised tagger alone calls no model: no table of calls and caches to show
    formatCost: () => ledger.formatIfAsked(),
    close: async () => {
      await tagger.close?.();
    },
  };
}

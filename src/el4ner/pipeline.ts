/**
 * The EL4NER method: a thin orchestrator running a list of stages over each chunk of each
 * document (src/el4ner/stages): retrieval -> [SLM voter] -> extraction (union) -> classification
 * -> decision (voting rule) -> verification (policy) -> score (calibration, threshold) -> overlaps;
 * with decomposition off, one joint stage replaces extraction and classification.
 *
 * Documents are cut into chunks by the one chunking policy (src/core/chunks.ts); at most
 * `concurrency` chunks run at once, the models of one stage run concurrently. Results do not
 * depend on the concurrency: everything is sorted by offsets and by voter order. A model whose
 * call fails (after its retries and one re-ask) abstains in that stage for that chunk; the failure
 * is counted per model and stage and noted in the document's `warnings`.
 * A document no LLM extractor answered for in any chunk is tagged by the fallback (the CRF of
 * `fusion.slm`) when there is one, else it fails with a NoAnswerError.
 */
import pLimit from 'p-limit';
import { type Chunk, chunkText, shift } from '../core/chunks.js';
import { NoAnswerError } from '../core/errors.js';
import { type DocumentWarning, FailureLog } from '../core/failures.js';
import {
  type EvaluateOptions,
  inputDocuments,
  type Method,
  type MethodInput,
  type MethodReport,
  outputDocument,
  type TagOptions,
  type TagResult,
} from '../core/method.js';
import { orderedPool } from '../core/ordered-pool.js';
import { compareEntities, type NerDocument } from '../core/types.js';
import { RepairLog, type RunLogs } from './calls.js';
import { buildReport, formatPipelineReport } from './report.js';
import type { Stage } from './stage.js';
import { classifyStage } from './stages/classify.js';
import { decideStage } from './stages/decide.js';
import { extractStage } from './stages/extract.js';
import { jointStage } from './stages/joint.js';
import { overlapsStage } from './stages/overlaps.js';
import { retrieveStage } from './stages/retrieve.js';
import { scoreStage } from './stages/score.js';
import { slmStage } from './stages/slm.js';
import { verifyStage } from './stages/verify.js';
import {
  type ChunkState,
  type ChunkTrace,
  type El4nerParts,
  newChunkState,
  type PipelineInfo,
  type StagePlan,
} from './state.js';

/** The stages that run for these parts, in order. */
export function pipelineStages(parts: StagePlan): Stage[] {
  const s = parts.switches;
  return [
    ...(parts.demos && s.retrieval !== 'none' && parts.k > 0 ? [retrieveStage] : []),
    ...(parts.slm ? [slmStage] : []),
    ...(s.decomposition ? [extractStage, classifyStage] : [jointStage]),
    decideStage,
    ...(verifies(parts) ? [verifyStage] : []),
    scoreStage,
    overlapsStage,
  ];
}

/** Whether the verification stage runs: switched on and a policy other than off. */
export function verifies(parts: Pick<StagePlan, 'switches' | 'verification'>): boolean {
  return parts.switches.verification && (parts.verification?.policy ?? 'all') !== 'off';
}

/**
 * Model calls per chunk and stage before re-asks, for budget estimates (classification and
 * verification are skipped for a chunk with nothing to type or verify, so these are upper bounds).
 */
export function callsPerChunk(plan: StagePlan): Record<string, number> {
  return Object.fromEntries(pipelineStages(plan).map((st) => [st.name, st.calls(plan)]));
}

export function pipelineInfo(parts: El4nerParts): PipelineInfo {
  return {
    labels: parts.labels,
    backbones: parts.backbones,
    verifier: parts.verifier,
    singleModel: parts.singleModel,
    zeroShot: !parts.demos || parts.demos.size === 0 || parts.switches.retrieval === 'none' || parts.k === 0,
    poolSize: parts.demos?.size ?? 0,
  };
}

function traceOf(state: ChunkState): ChunkTrace {
  const at = state.start;
  return {
    doc: state.doc,
    start: at,
    end: at + state.text.length,
    preSpans: shift(state.preSpans, at),
    demos: state.demos.map((d) => d.id),
    perModel: state.perModel,
    union: shift(
      state.union.map(({ start, end, text }) => ({ start, end, text })),
      at,
    ),
    voted: shift(state.voted, at),
    candidates: shift(
      state.candidates.map((c) => ({ ...c.entity, features: c.features ?? {} })),
      at,
    ),
    final: shift(state.final, at),
    ...state.counts,
  };
}

/** Warnings of a document: one per (kind, stage, model), the first message kept, with a count. */
function mergeWarnings(list: readonly DocumentWarning[]): DocumentWarning[] {
  const byKey = new Map<string, DocumentWarning & { n: number }>();
  for (const w of list) {
    const key = `${w.kind}\u0000${w.stage}\u0000${w.model ?? ''}`;
    const cur = byKey.get(key);
    if (cur) cur.n++;
    else byKey.set(key, { ...w, n: 1 });
  }
  return [...byKey.values()].map(({ n, ...w }) =>
    n > 1 ? { ...w, message: `${w.message} (${n} chunks)` } : w,
  );
}

/** Runs the stages over one chunk. */
async function processChunk(
  stages: readonly Stage[],
  parts: El4nerParts,
  doc: number,
  chunk: Chunk,
  logs: RunLogs,
) {
  const state = newChunkState(doc, chunk.start, chunk.text);
  for (const stage of stages) {
    logs.signal?.throwIfAborted();
    await stage.run(state, parts, logs);
  }
  return state;
}

/**
 * The output document from its chunk states: their entities, or the fallback's when no LLM
 * extractor answered in any chunk (a NoAnswerError without a fallback).
 */
function documentResult(parts: El4nerParts, doc: NerDocument, states: readonly ChunkState[], logs: RunLogs) {
  const llms = new Set([...parts.backbones, parts.singleModel]);
  const warnings = mergeWarnings(states.flatMap((s) => s.warnings));
  const unanswered = states.length > 0 && states.every((s) => ![...s.answered].some((m) => llms.has(m)));
  if (!unanswered) {
    const entities = states.flatMap((s) => shift(s.final, s.start)).sort(compareEntities);
    return { doc: outputDocument(doc, entities, { warnings }), fallback: false };
  }
  if (!parts.fallback) {
    throw new NoAnswerError(
      `no engine answered for document "${doc.id}": every configured model failed (${[...llms].join(', ')}); set fusion.slm to fall back to a CRF`,
      doc.id,
      logs.failures.list(),
    );
  }
  const fallback: DocumentWarning = {
    kind: 'fallback',
    stage: 'document',
    message: 'no LLM answered: tagged by the supervised tagger alone',
  };
  const tagged = parts.fallback(doc);
  return {
    doc: outputDocument(doc, tagged.entities, {
      meta: { fallback: 'slm' },
      warnings: [...warnings, fallback],
    }),
    fallback: true,
  };
}

/** Tags documents: chunks of all documents share one concurrency limit; documents come out in input order. */
async function tagDocuments(
  parts: El4nerParts,
  stages: readonly Stage[],
  input: MethodInput,
  opts: TagOptions,
): Promise<Omit<TagResult, 'traces'> & { traces: ChunkTrace[] }> {
  const t0 = Date.now();
  const docs = inputDocuments(input);
  const logs: RunLogs = {
    failures: new FailureLog(),
    repairs: new RepairLog(),
    reasks: { count: 0 },
    signal: opts.signal,
  };
  const limit = pLimit(parts.concurrency);
  const traces: ChunkTrace[][] = docs.map(() => []);
  let fallbacks = 0;
  const out = await orderedPool(
    docs,
    parts.concurrency,
    async (doc, di) => {
      const chunks = chunkText(doc.text, parts.maxChars);
      const states = await Promise.all(
        chunks.map((c) => limit(() => processChunk(stages, parts, di, c, logs))),
      );
      traces[di] = states.map(traceOf);
      const r = documentResult(parts, doc, states, logs);
      if (r.fallback) fallbacks++;
      return r.doc;
    },
    opts.onDocument,
    opts.signal,
  );
  for (const line of logs.failures.lines()) parts.log(line);
  if (fallbacks > 0)
    parts.log(
      `${fallbacks} of ${docs.length} document(s) tagged by the supervised CRF alone (meta.fallback "slm"): no LLM answered for them`,
    );
  return {
    docs: out,
    traces: traces.flat(),
    failures: logs.failures.list(),
    seconds: (Date.now() - t0) / 1000,
  };
}

export function createEl4nerMethod(parts: El4nerParts): Method {
  const stages = pipelineStages(parts);
  const verifier = verifies(parts) ? [parts.verifier] : [];
  const info = {
    kind: 'el4ner' as const,
    labels: parts.labels,
    models: [...new Set([...parts.backbones, ...verifier])],
    description: `EL4NER: backbones ${parts.backbones.join(', ')}${verifier.length ? `, verifier ${parts.verifier}` : ''}${parts.slm ? `, SLM voter ${parts.slm.name}` : ''}`,
  };
  let closed = false;
  const tag = (input: MethodInput, opts: TagOptions = {}) => {
    if (closed) return Promise.reject(new Error('the EL4NER method is closed'));
    return tagDocuments(parts, stages, input, opts);
  };
  return {
    info,
    tag,
    extract: async (input, opts) => (await tag(input, opts)).docs,
    async evaluate(gold, opts: EvaluateOptions = {}): Promise<MethodReport> {
      const goldDocs = opts.limit !== undefined ? gold.slice(0, opts.limit) : [...gold];
      const before = parts.ledger.summary();
      const result = await tag(goldDocs);
      const report = buildReport(goldDocs, result, {
        info: pipelineInfo(parts),
        stages: parts.switches,
        verification: parts.verification,
        costBefore: before,
        costAfter: parts.ledger.summary(),
      });
      return {
        kind: 'el4ner',
        documents: goldDocs.length,
        micro: report.final.micro,
        details: report,
        text: formatPipelineReport(report),
      };
    },
    cost: () => parts.ledger.summary(),
    formatCost: () => parts.ledger.format(),
    async close() {
      if (closed) return;
      closed = true;
      await parts.release?.();
    },
  };
}

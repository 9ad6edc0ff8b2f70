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
import type { DocumentWarning } from '../core/failures.js';
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
import { compareEntities, type NerDocument, type Span } from '../core/types.js';
import { perDocumentCounts } from '../eval/strict.js';
import { countDegraded } from '../run/degraded.js';
import { newRunLogs, type RepairCount, RepairLog, type RunLogs, reaskList } from './calls.js';
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
  context?: NerDocument['context'],
) {
  const state = newChunkState(doc, chunk.start, chunk.text, context);
  for (const stage of stages) {
    logs.signal?.throwIfAborted();
    await stage.run(state, parts, logs);
  }
  return toSourceOffsets(state);
}

/** The state's offsets moved from the text the models saw to the chunk as given (unspaced CJK back to spaced). */
function toSourceOffsets(state: ChunkState): ChunkState {
  const v = state.view;
  if (!v.changed) return state;
  const span = <T extends Span>(x: T): T => ({ ...x, ...v.toSource(x) });
  state.preSpans = state.preSpans.map(span);
  state.union = state.union.map(span);
  state.voted = state.voted.map(span);
  state.final = state.final.map(span);
  for (const m of Object.keys(state.perModel)) state.perModel[m] = state.perModel[m].map(span);
  return state;
}

/** Why each LLM gave nothing for a document: "a: HTTP 401 ...; b: connection refused ...". */
function unansweredCauses(llms: Iterable<string>, warnings: readonly DocumentWarning[]): string {
  return [...llms]
    .map((m) => {
      const failed = warnings.filter((w) => w.model === m && w.kind === 'failed');
      const cause = failed.find((w) => w.stage === 'extract' || w.stage === 'joint') ?? failed[0];
      return `${m}: ${cause?.cause ?? cause?.message ?? 'no usable answer'}`;
    })
    .join('; ');
}

/**
 * The output document from its chunk states: their entities, or the fallback's when no LLM
 * extractor answered in any chunk; without a fallback, a document whose models answered but gave
 * nothing usable is written without entities (and says so), and one no model answered is a
 * NoAnswerError naming each model's cause, or (`unanswered: 'row'`) a row with no entities and that `error`.
 */
async function documentResult(
  parts: El4nerParts,
  doc: NerDocument,
  states: readonly ChunkState[],
  logs: RunLogs,
  unanswered: TagOptions['unanswered'],
): Promise<{ doc: NerDocument; fallback: boolean; unusable: boolean; unanswered: boolean }> {
  const none = { fallback: false, unusable: false, unanswered: false };
  const llms = new Set([...parts.backbones, parts.singleModel]);
  const warnings = mergeWarnings(states.flatMap((s) => s.warnings));
  const noAnswer = states.length > 0 && states.every((s) => ![...s.answered].some((m) => llms.has(m)));
  if (!noAnswer) {
    const entities = states.flatMap((s) => shift(s.final, s.start)).sort(compareEntities);
    return { ...none, doc: outputDocument(doc, entities, { warnings }) };
  }
  // The models answered, only with nothing usable (not a transport failure): without a fallback,
  // the document is written without entities and says so, and the run goes on.
  const answeredUnusably = states.every((s) => [...s.unusable].some((m) => llms.has(m)));
  if (!parts.fallback && answeredUnusably) {
    const warning: DocumentWarning = {
      kind: 'failed',
      stage: 'document',
      message: 'no usable answer from any model (they answered, but nothing could be read): no entities',
    };
    return { ...none, unusable: true, doc: outputDocument(doc, [], { warnings: [...warnings, warning] }) };
  }
  const causes = unansweredCauses(llms, warnings);
  if (!parts.fallback) {
    const message = `no engine answered for document "${doc.id}": ${causes}`;
    if (unanswered === 'row') {
      const warning: DocumentWarning = { kind: 'unanswered', stage: 'document', message };
      return {
        ...none,
        unanswered: true,
        doc: outputDocument(doc, [], { warnings: [...warnings, warning], error: message }),
      };
    }
    throw new NoAnswerError(`${message}; set fusion.slm to fall back to a CRF`, doc.id, logs.failures.list());
  }
  const fallback: DocumentWarning = {
    kind: 'fallback',
    stage: 'document',
    message: `no LLM answered (${causes}): tagged by the supervised tagger alone`,
  };
  const tagged = await parts.fallback.tag(doc, logs.signal);
  return {
    ...none,
    fallback: true,
    doc: outputDocument(doc, tagged.entities, {
      meta: { fallback: 'slm' },
      warnings: [...warnings, fallback],
    }),
  };
}

/** Tags documents: chunks of all documents share one concurrency limit; documents come out in input order. */
async function tagDocuments(
  parts: El4nerParts,
  stages: readonly Stage[],
  input: MethodInput,
  opts: TagOptions,
): Promise<El4nerTagResult> {
  const t0 = Date.now();
  const docs = inputDocuments(input, {
    context: parts.slm?.readsContext === true || parts.fallback?.readsContext === true,
  });
  const logs: RunLogs = newRunLogs(opts.signal);
  const limit = pLimit(parts.concurrency);
  const traces: ChunkTrace[][] = docs.map(() => []);
  let fallbacks = 0;
  let unusable = 0;
  let unanswered = 0;
  const out = await orderedPool(
    docs,
    parts.concurrency,
    async (doc, di) => {
      const chunks = chunkText(doc.text, parts.maxChars);
      const states = await Promise.all(
        chunks.map((c) => limit(() => processChunk(stages, parts, di, c, logs, doc.context))),
      );
      traces[di] = states.map(traceOf);
      const r = await documentResult(parts, doc, states, logs, opts.unanswered);
      if (r.fallback) fallbacks++;
      if (r.unusable) unusable++;
      if (r.unanswered) unanswered++;
      return r.doc;
    },
    opts.onDocument,
    opts.signal,
  );
  for (const line of logs.failures.lines()) parts.log(line);
  for (const line of logs.repairs.lines()) parts.log(line);
  if (logs.reasks.count > 0)
    parts.log(
      `asked again ${logs.reasks.count} time(s) after an answer with nothing usable: ${reaskList(logs)
        .map((r) => `${r.model} ${r.stage} ${r.count}`)
        .join(', ')}`,
    );
  if (fallbacks > 0)
    parts.log(
      `${fallbacks} of ${docs.length} document(s) tagged by the supervised ${parts.fallback?.description} alone (meta.fallback "slm"): no LLM answered for them`,
    );
  if (unusable > 0)
    parts.log(
      `${unusable} of ${docs.length} document(s) written without entities: no model gave a usable answer for them (see their warnings)`,
    );
  if (unanswered > 0)
    parts.log(
      `${unanswered} of ${docs.length} document(s) had no answer from any model: written with no entities and their "error"`,
    );
  return {
    docs: out,
    traces: traces.flat(),
    failures: logs.failures.list(),
    repairs: logs.repairs.list(),
    reasks: reaskList(logs),
    seconds: (Date.now() - t0) / 1000,
  };
}

/** What the EL4NER method's `tag` returns: the Method's result with typed traces, repairs and re-asks. */
export interface El4nerTagResult extends Omit<TagResult, 'traces'> {
  traces: ChunkTrace[];
  /** Answers that needed repairs, per model and stage. */
  repairs: RepairCount[];
  /** Re-asks (requests beyond the first) per model and stage. */
  reasks: Array<{ model: string; stage: string; count: number }>;
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
  // Repairs and re-asks over the method's lifetime, for the cost table.
  const repairs = new RepairLog();
  const reasks = new Map<string, number>();
  const tag = async (input: MethodInput, opts: TagOptions = {}) => {
    if (closed) throw new Error('the EL4NER method is closed');
    const r = await tagDocuments(parts, stages, input, opts);
    for (const c of r.repairs) repairs.add(c);
    for (const q of r.reasks)
      reasks.set(`${q.model} ${q.stage}`, (reasks.get(`${q.model} ${q.stage}`) ?? 0) + q.count);
    return r;
  };
  return {
    info,
    tag,
    extract: async (input, opts) => (await tag(input, opts)).docs,
    async evaluate(gold, opts: EvaluateOptions = {}): Promise<MethodReport> {
      const goldDocs = opts.limit !== undefined ? gold.slice(0, opts.limit) : [...gold];
      const before = parts.ledger.summary();
      const result = await tag(goldDocs, {
        ...(opts.onDocument ? { onDocument: opts.onDocument } : {}),
        ...(opts.unanswered ? { unanswered: opts.unanswered } : {}),
      });
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
        perDocument: perDocumentCounts(goldDocs, result.docs),
        ...countDegraded(result.docs),
        details: report,
        text: formatPipelineReport(report),
      };
    },
    cost: () => parts.ledger.summary(),
    formatCost: () => {
      const lines = [parts.ledger.format()];
      for (const l of repairs.lines()) lines.push(`repairs: ${l}`);
      if (reasks.size > 0)
        lines.push(
          `re-asks: ${[...reasks]
            .sort()
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')}`,
        );
      return `${lines.join('\n')}\n`;
    },
    async close() {
      if (closed) return;
      closed = true;
      await parts.release?.();
    },
  };
}

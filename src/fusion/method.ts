/**
 * SLM+LLM fusion as a method: each document is tagged by the SLM, rewritten inline by the LLM
 * (with logprobs) and fused (src/fusion/pipeline.ts). When the LLM call fails, the SLM's answer
 * stands alone: the document is marked `meta.fallback: 'slm'` with a warning, and the failure
 * is counted.
 */
import { FailureLog } from '../core/failures.js';
import {
  type EvaluateOptions,
  inputDocuments,
  type Method,
  type MethodReport,
  outputDocument,
  type TagOptions,
} from '../core/method.js';
import { orderedPool } from '../core/ordered-pool.js';
import type { CostLedger } from '../engines/cost.js';
import { type Fusion, type FusionReport, fusionEval, type TunedLambda } from './pipeline.js';

export interface FusionMethodParts {
  fusion: Fusion;
  /** Model name of the inline-tagging LLM. */
  llm: string;
  /** For messages: what the SLM is and where, e.g. 'CRF model.crf'. */
  slmName: string;
  /** The SLM's file or folder, for reports. */
  slmPath: string;
  labels: string[];
  ledger: CostLedger;
  concurrency: number;
  log: (message: string) => void;
  /** How lambda was chosen when it was 'auto' (dev documents and the search). */
  lambdaSearch?: { devDocuments: number; result: TunedLambda };
  release?: () => Promise<void>;
}

const pct = (x: number) => (100 * x).toFixed(2).padStart(7);

/** The fusion report as a table: SLM alone, LLM alone, fused; strict micro P/R/F1 and token-level macro F1. */
export function formatFusionReport(r: FusionReport, devDocs?: number): string {
  const lines: string[] = [];
  const how = r.lambdaSearch
    ? `chosen on ${devDocs ?? '?'} dev document(s), dev strict F1 ${(100 * r.lambdaSearch.f1).toFixed(2)}, ${r.lambdaSearch.curve.length} values tried${r.lambdaSearch.llmFailures ? `, the LLM failing on ${r.lambdaSearch.llmFailures} of them` : ''}`
    : 'fixed in the config';
  lines.push(`SLM+LLM fusion on ${r.documents} document(s)`);
  lines.push(
    `lambda ${r.lambda.toPrecision(4)}, for removing SLM entities ${r.lambdaOutside.toPrecision(4)} (${how}); LLM probability: ${r.probability}`,
  );
  lines.push('');
  lines.push('system        strict P  strict R strict F1   tp    fp    fn  token macro F1');
  const row = (name: string, s: FusionReport['fused'] | undefined) => {
    if (!s) return `${name.padEnd(12)}  (no LLM answers)`;
    const c = s.strict;
    return `${name.padEnd(12)} ${pct(c.p)}  ${pct(c.r)}  ${pct(c.f1)} ${String(c.tp).padStart(5)} ${String(c.fp).padStart(5)} ${String(c.fn).padStart(5)}  ${pct(s.tokenMacro.f1)}`;
  };
  lines.push(row('SLM alone', r.slm));
  lines.push(row('LLM alone', r.llm));
  lines.push(row('fused', r.fused));
  lines.push('');
  const d = r.decided;
  const total = d.agree + d.slm + d.llm;
  lines.push(
    `tokens decided: ${total} in all; both agree ${d.agree}, disagreement kept by the SLM ${d.slm}, taken from the LLM ${d.llm}`,
  );
  const k = r.decisions;
  lines.push(
    `conflicts won by the LLM / decided: type ${k.type.llm}/${k.type.llm + k.type.slm}, boundary ${k.boundary.llm}/${k.boundary.llm + k.boundary.slm}, LLM-only entity ${k.llmOnly.llm}/${k.llmOnly.llm + k.llmOnly.slm}, SLM-only entity ${k.slmOnly.llm}/${k.slmOnly.llm + k.slmOnly.slm}`,
  );
  const g = r.lambdaSearch?.guard;
  const best = r.lambdaSearch?.best;
  if (g && best && !g.kept)
    lines.push(
      `the best dev lambdas ${best.lambda.toPrecision(4)} / ${best.lambdaOutside.toPrecision(4)} (dev F1 ${(100 * best.f1).toFixed(2)}) beat the ${g.against === 'slm' ? 'SLM' : 'LLM'} alone (${(100 * g.againstF1).toFixed(2)}) in only ${(100 * g.winShare).toFixed(0)}% of dev resamples: the ${g.against === 'slm' ? 'SLM' : 'LLM'} alone is used`,
    );
  lines.push(
    `LLM failures (SLM used alone): ${r.fallbacks['llm-error']}; answers without logprobs: ${r.withoutLogprobs}${r.partlyWithoutLogprobs ? `, in some pieces only: ${r.partlyWithoutLogprobs}` : ''}; LLM entities without probability: ${r.llmEntitiesWithoutProbability}`,
  );
  return lines.join('\n');
}

export function createFusionMethod(parts: FusionMethodParts): Method {
  const { fusion, llm } = parts;
  const info = {
    kind: 'fusion' as const,
    labels: parts.labels,
    models: [llm],
    description: `fusion: ${parts.slmName} + LLM ${llm}, lambda ${fusion.lambda} (removing SLM entities ${fusion.lambdaOutside}), ${fusion.probability} probability`,
  };
  const tag = async (input: Parameters<Method['tag']>[0], o: TagOptions = {}) => {
    const t0 = Date.now();
    const failures = new FailureLog();
    let fallbacks = 0;
    // documents whose every piece the LLM answered without logprobs, and long documents where
    // only some pieces came without (with those pieces' count and all their pieces')
    let withoutLogprobs = 0;
    let partly = 0;
    let partlyPieces = 0;
    let partlyWithout = 0;
    const docs = await orderedPool(
      inputDocuments(input, { context: fusion.readsContext }),
      parts.concurrency,
      async (d) => {
        const { doc, stats } = await fusion.tagDocument(d, { signal: o.signal });
        if (!stats.fallback && stats.piecesWithoutLogprobs > 0) {
          if (stats.piecesWithoutLogprobs === stats.pieces) withoutLogprobs++;
          else {
            partly++;
            partlyPieces += stats.pieces;
            partlyWithout += stats.piecesWithoutLogprobs;
          }
        }
        if (stats.fallback !== 'llm-error') return outputDocument(d, doc.entities);
        fallbacks++;
        failures.record(llm, 'fusion', stats.error ?? 'unknown error');
        return outputDocument(d, doc.entities, {
          meta: { fallback: 'slm' },
          warnings: [
            { kind: 'failed', stage: 'fusion', model: llm, message: stats.error ?? 'unknown error' },
            {
              kind: 'fallback',
              stage: 'document',
              message: 'the fusion LLM did not answer: tagged by the SLM alone',
            },
          ],
        });
      },
      o.onDocument,
      o.signal,
    );
    for (const line of failures.lines()) parts.log(line);
    if (fallbacks > 0)
      parts.log(
        `${fallbacks} of ${docs.length} document(s) tagged by the supervised CRF alone (meta.fallback "slm"): the fusion LLM ${llm} did not answer`,
      );
    if (withoutLogprobs > 0)
      parts.log(
        `${withoutLogprobs} of ${docs.length} document(s): the fusion LLM ${llm} answered without logprobs, so its answer could not change the SLM's entities there (fusion needs a server that returns logprobs)`,
      );
    if (partly > 0)
      parts.log(
        `${partly} of ${docs.length} document(s): the fusion LLM ${llm} answered ${partlyWithout} of ${partlyPieces} piece(s) without logprobs, so its answer could not change the SLM's entities in those pieces (fusion needs a server that returns logprobs)`,
      );
    return { docs, traces: [], failures: failures.list(), seconds: (Date.now() - t0) / 1000 };
  };
  return {
    info,
    tag,
    extract: async (input, o) => (await tag(input, o)).docs,
    async evaluate(gold, o: EvaluateOptions = {}): Promise<MethodReport> {
      const docs = o.limit !== undefined ? gold.slice(0, o.limit) : [...gold];
      const report = await fusionEval(docs, fusion, { dev: o.dev, concurrency: parts.concurrency });
      if (!report.lambdaSearch && parts.lambdaSearch) report.lambdaSearch = parts.lambdaSearch.result;
      const devDocs = o.dev?.length ?? parts.lambdaSearch?.devDocuments;
      return {
        kind: 'fusion',
        documents: docs.length,
        micro: report.fused.strict,
        // a document the LLM did not answer is tagged by the SLM alone: degraded, as in `tag`
        degraded: report.fallbacks['llm-error'],
        unanswered: 0,
        ...(report.lambdaSearch && devDocs !== undefined
          ? { tuning: { documents: devDocs, degraded: report.lambdaSearch.llmFailures, unanswered: 0 } }
          : {}),
        details: { slmModel: parts.slmPath, llmModel: llm, ...report },
        text: formatFusionReport(report, devDocs),
      };
    },
    cost: () => parts.ledger.summary(),
    formatCost: () => `${parts.ledger.format()}\n`,
    close: async () => {
      await parts.release?.();
    },
  };
}

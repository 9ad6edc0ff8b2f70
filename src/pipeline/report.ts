/**
 * The per-stage report of `el4ner eval`: what each EL4NER stage contributed on a labelled set.
 * - extraction: span recall of the union (boundaries only) against gold spans, and of each backbone;
 * - classification: typing accuracy of the vote on union spans whose boundaries match a gold span
 *   (a 'none' decision on such a span counts as wrong);
 * - verification: strict precision before and after, entities removed;
 * - final: strict P/R/F1 per type and micro (the `el4ner score` scorer);
 * - grounding: hallucinated spans (not in the text), ambiguous groundings, unknown types;
 * - cost: calls, tokens and seconds per sentence from the cost ledger; failures per model.
 */
import type { NerDocument } from '../core/types.js';
import type { CostSummary, Totals } from '../engines/cost.js';
import { type EvalReport, evaluate } from '../eval/evaluate.js';
import { type Counts, type Prf, prf } from '../eval/prf.js';
import { countDocument } from '../eval/strict.js';
import type { ModelFailure, PipelineInfo, RunResult } from './el4ner.js';
import type { ResolvedStages } from './stages.js';

export interface ReportOptions {
  /** Only the first N gold documents. */
  limit?: number;
}

export interface PipelineReport {
  documents: number;
  sentences: number;
  stages: ResolvedStages;
  models: { backbones: string[]; verifier: string; singleModel: string; labels: string[]; zeroShot: boolean };
  extraction: {
    goldSpans: number;
    unionSpans: number;
    unionSpanRecall: number;
    unionSpanPrecision: number;
    perModel: Record<string, { spans: number; spanRecall: number; spanPrecision: number }>;
  };
  classification: { goldBoundarySpans: number; correct: number; typingAccuracy: number };
  verification: {
    enabled: boolean;
    before: Prf & Counts;
    after: Prf & Counts;
    removed: number;
  };
  final: { micro: Prf & Counts; perType: EvalReport['per_type']; macroF1: number };
  grounding: { hallucinated: number; ambiguous: number; invalidTypes: number; missingAnswers: number };
  failures: ModelFailure[];
  cost: {
    seconds: number;
    total: Totals;
    byStage: Record<string, Totals>;
    byModel: Record<string, Totals>;
    cache: { hits: number; misses: number };
    perSentence: { calls: number; promptTokens: number; completionTokens: number; seconds: number };
  };
}

function diffTotals(a: Totals | undefined, b: Totals | undefined): Totals {
  const z = { calls: 0, promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, ms: 0, failedCalls: 0 };
  const x = a ?? z;
  const y = b ?? z;
  return {
    calls: y.calls - x.calls,
    promptTokens: y.promptTokens - x.promptTokens,
    completionTokens: y.completionTokens - x.completionTokens,
    cachedPromptTokens: y.cachedPromptTokens - x.cachedPromptTokens,
    ms: y.ms - x.ms,
    failedCalls: y.failedCalls - x.failedCalls,
  };
}

function diffMap(a: Record<string, Totals>, b: Record<string, Totals>): Record<string, Totals> {
  const out: Record<string, Totals> = {};
  for (const k of Object.keys(b).sort()) {
    const d = diffTotals(a[k], b[k]);
    if (d.calls || d.failedCalls) out[k] = d;
  }
  return out;
}

function withPrf(c: Counts): Prf & Counts {
  return { ...prf(c), ...c };
}

export function buildReport(
  gold: readonly NerDocument[],
  result: RunResult,
  ctx: { info: PipelineInfo; stages: ResolvedStages; costBefore: CostSummary; costAfter: CostSummary },
): PipelineReport {
  const spanKeys = (doc: number, spans: ReadonlyArray<{ start: number; end: number }>) =>
    new Set(spans.map((s) => `${doc}:${s.start}:${s.end}`));
  const goldSpans = new Set<string>();
  const goldType = new Map<string, Set<string>>();
  gold.forEach((g, i) => {
    for (const e of g.entities) {
      const k = `${i}:${e.start}:${e.end}`;
      goldSpans.add(k);
      goldType.set(k, (goldType.get(k) ?? new Set()).add(e.type));
    }
  });
  const union = new Set<string>();
  const perModelSpans = new Map<string, Set<string>>();
  let correct = 0;
  let matched = 0;
  const grounding = { hallucinated: 0, ambiguous: 0, invalidTypes: 0, missingAnswers: 0 };
  const votedByDoc: NerDocument[] = gold.map((g) => ({ id: g.id, text: g.text, entities: [] }));
  for (const t of result.traces) {
    for (const k of spanKeys(t.doc, t.union)) union.add(k);
    for (const [m, spans] of Object.entries(t.perModel)) {
      const set = perModelSpans.get(m) ?? new Set<string>();
      for (const s of spans) set.add(`${t.doc}:${s.start + t.start}:${s.end + t.start}`);
      perModelSpans.set(m, set);
    }
    const votedType = new Map(t.voted.map((e) => [`${t.doc}:${e.start}:${e.end}`, e.type]));
    for (const s of t.union) {
      const k = `${t.doc}:${s.start}:${s.end}`;
      const gt = goldType.get(k);
      if (!gt) continue;
      matched++;
      const v = votedType.get(k);
      if (v !== undefined && gt.has(v)) correct++;
    }
    votedByDoc[t.doc].entities.push(...t.voted);
    grounding.hallucinated += t.hallucinated;
    grounding.ambiguous += t.ambiguous;
    grounding.invalidTypes += t.invalidTypes;
    grounding.missingAnswers += t.missingAnswers;
  }
  for (const b of ctx.info.backbones) if (!perModelSpans.has(b)) perModelSpans.set(b, new Set());
  const hits = (s: Set<string>) => [...s].filter((k) => goldSpans.has(k)).length;
  const perModel: PipelineReport['extraction']['perModel'] = {};
  for (const [m, s] of [...perModelSpans].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const h = hits(s);
    perModel[m] = {
      spans: s.size,
      spanRecall: goldSpans.size ? h / goldSpans.size : 0,
      spanPrecision: s.size ? h / s.size : 0,
    };
  }
  const unionHits = hits(union);

  const strict = (pred: readonly NerDocument[]): Counts => {
    const c = { tp: 0, fp: 0, fn: 0 };
    gold.forEach((g, i) => {
      const d = countDocument(g.entities, pred[i].entities).total;
      c.tp += d.tp;
      c.fp += d.fp;
      c.fn += d.fn;
    });
    return c;
  };
  const before = strict(votedByDoc);
  const after = strict(result.docs);
  const finalEval = evaluate(gold, result.docs, { bootstrap: 0 });
  const cost = ctx.costAfter;
  const total = diffTotals(ctx.costBefore.total, cost.total);
  const sentences = result.traces.length;
  const per = (x: number) => (sentences ? x / sentences : 0);
  return {
    documents: gold.length,
    sentences,
    stages: ctx.stages,
    models: {
      backbones: ctx.info.backbones,
      verifier: ctx.info.verifier,
      singleModel: ctx.info.singleModel,
      labels: ctx.info.labels,
      zeroShot: ctx.info.zeroShot,
    },
    extraction: {
      goldSpans: goldSpans.size,
      unionSpans: union.size,
      unionSpanRecall: goldSpans.size ? unionHits / goldSpans.size : 0,
      unionSpanPrecision: union.size ? unionHits / union.size : 0,
      perModel,
    },
    classification: { goldBoundarySpans: matched, correct, typingAccuracy: matched ? correct / matched : 0 },
    verification: {
      enabled: ctx.stages.verification,
      before: withPrf(before),
      after: withPrf(after),
      removed:
        votedByDoc.reduce((a, d) => a + d.entities.length, 0) -
        result.docs.reduce((a, d) => a + d.entities.length, 0),
    },
    final: { micro: finalEval.micro, perType: finalEval.per_type, macroF1: finalEval.macro_f1 },
    grounding,
    failures: result.failures,
    cost: {
      seconds: result.seconds,
      total,
      byStage: diffMap(ctx.costBefore.byStage, cost.byStage),
      byModel: diffMap(ctx.costBefore.byModel, cost.byModel),
      cache: {
        hits: cost.cache.hits - ctx.costBefore.cache.hits,
        misses: cost.cache.misses - ctx.costBefore.cache.misses,
      },
      perSentence: {
        calls: per(total.calls),
        promptTokens: per(total.promptTokens),
        completionTokens: per(total.completionTokens),
        seconds: per(result.seconds),
      },
    },
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** A short plain-text summary of the report for stderr. */
export function formatPipelineReport(r: PipelineReport): string {
  const lines: string[] = [];
  lines.push(`documents ${r.documents}, sentences ${r.sentences}`);
  lines.push(
    `extraction  union span recall ${pct(r.extraction.unionSpanRecall)} (${r.extraction.unionSpans} spans, ${r.extraction.goldSpans} gold)`,
  );
  for (const [m, x] of Object.entries(r.extraction.perModel))
    lines.push(`            ${m}: span recall ${pct(x.spanRecall)}, precision ${pct(x.spanPrecision)}`);
  lines.push(
    `classification typing accuracy ${pct(r.classification.typingAccuracy)} (${r.classification.correct}/${r.classification.goldBoundarySpans})`,
  );
  lines.push(
    `verification ${r.verification.enabled ? 'on' : 'off'}: precision ${pct(r.verification.before.p)} -> ${pct(r.verification.after.p)}, removed ${r.verification.removed}`,
  );
  lines.push(`final       P ${pct(r.final.micro.p)}  R ${pct(r.final.micro.r)}  F1 ${pct(r.final.micro.f1)}`);
  for (const [t, s] of Object.entries(r.final.perType))
    lines.push(`            ${t.padEnd(10)} P ${pct(s.p)}  R ${pct(s.r)}  F1 ${pct(s.f1)}  (${s.support})`);
  lines.push(
    `grounding   hallucinated ${r.grounding.hallucinated}, ambiguous ${r.grounding.ambiguous}, unknown types ${r.grounding.invalidTypes}`,
  );
  lines.push(
    `cost        ${r.cost.perSentence.calls.toFixed(2)} calls, ${r.cost.perSentence.promptTokens.toFixed(0)}+${r.cost.perSentence.completionTokens.toFixed(0)} tokens, ${r.cost.perSentence.seconds.toFixed(3)} s per sentence`,
  );
  for (const f of r.failures)
    lines.push(`failures    ${f.model} (${f.stage}): ${f.count}x, last: ${f.lastError}`);
  return lines.join('\n');
}

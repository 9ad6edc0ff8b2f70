/**
 * The per-stage report of `el4ner eval`: what each EL4NER stage contributed on a labelled set.
 * - extraction: span recall of the union (boundaries only) against gold spans, and of each backbone;
 * - classification: typing accuracy of the vote on union spans whose boundaries match a gold span
 *   (a 'none' decision on such a span counts as wrong);
 * - verification: strict precision before and after, entities removed (vetoed);
 * - cut: entities removed after verification by the score threshold and the overlap rule;
 * - final: strict P/R/F1 per type and micro (the `el4ner score` scorer);
 * - grounding: hallucinated spans (not in the text), ambiguous groundings, unknown types;
 * - answers: per model and stage, answers that needed repairs (and which kinds), re-asks, failures;
 * - cost: calls, tokens and seconds per sentence from the cost ledger; failures per model.
 */
import type { ModelFailure } from '../core/failures.js';
import type { NerDocument } from '../core/types.js';
import type { CostSummary, Totals } from '../engines/cost.js';
import { type EvalReport, evaluate } from '../eval/evaluate.js';
import { type Counts, type Prf, prf } from '../eval/prf.js';
import { countDocument } from '../eval/strict.js';
import type { RepairCount } from './calls.js';
import type { ChunkTrace, PipelineInfo, VerificationSettings } from './state.js';
import type { ResolvedStages } from './switches.js';

/** What a run of the pipeline returns, as the report reads it. */
export interface RunResult {
  docs: NerDocument[];
  traces: ChunkTrace[];
  failures: ModelFailure[];
  seconds: number;
  repairs?: RepairCount[];
  reasks?: Array<{ model: string; stage: string; count: number }>;
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
    policy: VerificationSettings['policy'];
    use: VerificationSettings['use'];
    before: Prf & Counts;
    after: Prf & Counts;
    removed: number;
  };
  /** After verification: entities removed by the score threshold and by the overlap rule. */
  cut: { before: Prf & Counts; removed: number };
  final: { micro: Prf & Counts; perType: EvalReport['per_type']; macroF1: number };
  grounding: {
    hallucinated: number;
    ambiguous: number;
    invalidTypes: number;
    missingAnswers: number;
    /** Classifier votes cast with probabilities (soft votes). */
    softVotes: number;
  };
  failures: ModelFailure[];
  /** How usable the answers were, per model and stage. */
  answers: {
    repairs: RepairCount[];
    reasks: Array<{ model: string; stage: string; count: number }>;
    /** Re-asks per 100 sentences (chunks). */
    reasksPer100: number;
    /** Documents with a warning of each kind (failed, repaired, fallback, skipped). */
    documentsWithWarnings: Record<string, number>;
  };
  cost: {
    seconds: number;
    total: Totals;
    byStage: Record<string, Totals>;
    byModel: Record<string, Totals>;
    cache: { hits: number; misses: number };
    perSentence: { calls: number; promptTokens: number; completionTokens: number; seconds: number };
  };
}

/** b - a, field by field (a missing side counts as zero). */
function diffTotals(a: Totals | undefined, b: Totals | undefined): Totals {
  const out = { ...(b ?? a) } as Totals;
  for (const k of Object.keys(out) as Array<keyof Totals>) out[k] = (b?.[k] ?? 0) - (a?.[k] ?? 0);
  return out;
}

function diffMap(a: Record<string, Totals>, b: Record<string, Totals>): Record<string, Totals> {
  const out: Record<string, Totals> = {};
  for (const k of Object.keys(b).sort()) {
    const d = diffTotals(a[k], b[k]);
    if (d.calls || d.failedCalls || d.unusable || d.refused) out[k] = d;
  }
  return out;
}

function withPrf(c: Counts): Prf & Counts {
  return { ...prf(c), ...c };
}

interface TraceTallies {
  goldSpans: Set<string>;
  union: Set<string>;
  perModelSpans: Map<string, Set<string>>;
  matched: number;
  correct: number;
  grounding: PipelineReport['grounding'];
  votedByDoc: NerDocument[];
  candidatesByDoc: NerDocument[];
}

/** Span sets, typing accuracy and grounding counts from the chunk traces. */
function tallyTraces(gold: readonly NerDocument[], traces: readonly ChunkTrace[]): TraceTallies {
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
  const t: TraceTallies = {
    goldSpans,
    union: new Set(),
    perModelSpans: new Map(),
    matched: 0,
    correct: 0,
    grounding: { hallucinated: 0, ambiguous: 0, invalidTypes: 0, missingAnswers: 0, softVotes: 0 },
    votedByDoc: gold.map((g) => ({ id: g.id, text: g.text, entities: [] })),
    candidatesByDoc: gold.map((g) => ({ id: g.id, text: g.text, entities: [] })),
  };
  for (const tr of traces) {
    for (const k of spanKeys(tr.doc, tr.union)) t.union.add(k);
    for (const [m, spans] of Object.entries(tr.perModel)) {
      const set = t.perModelSpans.get(m) ?? new Set<string>();
      for (const s of spans) set.add(`${tr.doc}:${s.start + tr.start}:${s.end + tr.start}`);
      t.perModelSpans.set(m, set);
    }
    const votedType = new Map(tr.voted.map((e) => [`${tr.doc}:${e.start}:${e.end}`, e.type]));
    for (const s of tr.union) {
      const k = `${tr.doc}:${s.start}:${s.end}`;
      const gt = goldType.get(k);
      if (!gt) continue;
      t.matched++;
      const v = votedType.get(k);
      if (v !== undefined && gt.has(v)) t.correct++;
    }
    t.votedByDoc[tr.doc].entities.push(...tr.voted);
    t.candidatesByDoc[tr.doc].entities.push(...tr.candidates);
    t.grounding.hallucinated += tr.hallucinated;
    t.grounding.ambiguous += tr.ambiguous;
    t.grounding.invalidTypes += tr.invalidTypes;
    t.grounding.missingAnswers += tr.missingAnswers;
    t.grounding.softVotes += tr.softVotes;
  }
  return t;
}

function strictCounts(gold: readonly NerDocument[], pred: readonly NerDocument[]): Counts {
  const c = { tp: 0, fp: 0, fn: 0 };
  gold.forEach((g, i) => {
    const d = countDocument(g.entities, pred[i].entities).total;
    c.tp += d.tp;
    c.fp += d.fp;
    c.fn += d.fn;
  });
  return c;
}

export function buildReport(
  gold: readonly NerDocument[],
  result: RunResult,
  ctx: {
    info: PipelineInfo;
    stages: ResolvedStages;
    verification: VerificationSettings;
    costBefore: CostSummary;
    costAfter: CostSummary;
  },
): PipelineReport {
  const t = tallyTraces(gold, result.traces);
  for (const b of ctx.info.backbones) if (!t.perModelSpans.has(b)) t.perModelSpans.set(b, new Set());
  const hits = (s: Set<string>) => [...s].filter((k) => t.goldSpans.has(k)).length;
  const perModel: PipelineReport['extraction']['perModel'] = {};
  for (const [m, s] of [...t.perModelSpans].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const h = hits(s);
    perModel[m] = {
      spans: s.size,
      spanRecall: t.goldSpans.size ? h / t.goldSpans.size : 0,
      spanPrecision: s.size ? h / s.size : 0,
    };
  }
  const unionHits = hits(t.union);
  const before = strictCounts(gold, t.votedByDoc);
  const verified = strictCounts(gold, t.candidatesByDoc);
  const finalEval = evaluate(gold, result.docs, { bootstrap: 0 });
  const cost = ctx.costAfter;
  const total = diffTotals(ctx.costBefore.total, cost.total);
  const sentences = result.traces.length;
  const per = (x: number) => (sentences ? x / sentences : 0);
  const count = (docs: readonly NerDocument[]) => docs.reduce((a, d) => a + d.entities.length, 0);
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
      goldSpans: t.goldSpans.size,
      unionSpans: t.union.size,
      unionSpanRecall: t.goldSpans.size ? unionHits / t.goldSpans.size : 0,
      unionSpanPrecision: t.union.size ? unionHits / t.union.size : 0,
      perModel,
    },
    classification: {
      goldBoundarySpans: t.matched,
      correct: t.correct,
      typingAccuracy: t.matched ? t.correct / t.matched : 0,
    },
    verification: {
      enabled: ctx.stages.verification && ctx.verification.policy !== 'off',
      policy: ctx.verification.policy,
      use: ctx.verification.use,
      before: withPrf(before),
      after: withPrf(verified),
      removed: count(t.votedByDoc) - count(t.candidatesByDoc),
    },
    cut: { before: withPrf(verified), removed: count(t.candidatesByDoc) - count(result.docs) },
    final: { micro: finalEval.micro, perType: finalEval.per_type, macroF1: finalEval.macro_f1 },
    grounding: t.grounding,
    failures: result.failures,
    answers: answersSummary(result, sentences),
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

function answersSummary(result: RunResult, sentences: number): PipelineReport['answers'] {
  const reasks = result.reasks ?? [];
  const total = reasks.reduce((a, r) => a + r.count, 0);
  const documentsWithWarnings: Record<string, number> = {};
  for (const d of result.docs)
    for (const kind of new Set((d.warnings ?? []).map((w) => w.kind)))
      documentsWithWarnings[kind] = (documentsWithWarnings[kind] ?? 0) + 1;
  return {
    repairs: result.repairs ?? [],
    reasks,
    reasksPer100: sentences ? (100 * total) / sentences : 0,
    documentsWithWarnings,
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
    `verification ${r.verification.enabled ? `${r.verification.policy} (${r.verification.use})` : 'off'}: precision ${pct(r.verification.before.p)} -> ${pct(r.verification.after.p)}, removed ${r.verification.removed}`,
  );
  lines.push(`cut         threshold and overlaps removed ${r.cut.removed}`);
  lines.push(`final       P ${pct(r.final.micro.p)}  R ${pct(r.final.micro.r)}  F1 ${pct(r.final.micro.f1)}`);
  for (const [t, s] of Object.entries(r.final.perType))
    lines.push(`            ${t.padEnd(10)} P ${pct(s.p)}  R ${pct(s.r)}  F1 ${pct(s.f1)}  (${s.support})`);
  lines.push(
    `grounding   hallucinated ${r.grounding.hallucinated}, ambiguous ${r.grounding.ambiguous}, unknown types ${r.grounding.invalidTypes}${r.grounding.softVotes ? `, soft votes ${r.grounding.softVotes}` : ''}`,
  );
  lines.push(
    `cost        ${r.cost.perSentence.calls.toFixed(2)} calls, ${r.cost.perSentence.promptTokens.toFixed(0)}+${r.cost.perSentence.completionTokens.toFixed(0)} tokens, ${r.cost.perSentence.seconds.toFixed(3)} s per sentence`,
  );
  for (const f of r.failures)
    lines.push(`failures    ${f.model} (${f.stage}): ${f.count}x, last: ${f.lastError}`);
  for (const x of r.answers.repairs)
    lines.push(
      `repairs     ${x.model} (${x.stage}): ${x.answers} answer(s); ${Object.entries(x.kinds)
        .map(([k, n]) => `${k} ${n}x`)
        .join(', ')}`,
    );
  const reasks = r.answers.reasks.reduce((a, q) => a + q.count, 0);
  lines.push(
    `re-asks     ${reasks} (${r.answers.reasksPer100.toFixed(1)} per 100 sentences)${reasks ? `: ${r.answers.reasks.map((q) => `${q.model} ${q.stage} ${q.count}`).join(', ')}` : ''}`,
  );
  const warned = Object.entries(r.answers.documentsWithWarnings);
  if (warned.length)
    lines.push(`warnings    documents with ${warned.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  return lines.join('\n');
}

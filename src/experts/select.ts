/**
 * SaM expert selection for a target domain: the union of the top-a experts by domain similarity
 * and the top-b experts by strict micro-F1 on n sampled labelled target sentences.
 */
import type { Config } from '../config/schema.js';
import { seededOrder } from '../core/random.js';
import type { NerDocument } from '../core/types.js';
import type { CostLedger } from '../engines/cost.js';
import type { Engine } from '../engines/types.js';
import type { DemoSource } from '../retrieval/demo-source.js';
import { cosine, embeddingCentroid, lexicalSimilarity } from './domain.js';
import { applyMerge, type MergePlan, planMerge, type ScoredExpert } from './merge.js';
import {
  type ExpertPerformance,
  type MeasureOptions,
  measureExperts,
  reliabilityWeights,
} from './performance.js';
import { domainTexts, type Expert } from './registry.js';

export interface SelectionRow {
  expert: string;
  voter: string;
  /** Domain similarity in [0, 1] (lexical) or [-1, 1] (embedding cosine); null when not computable. */
  domainSimilarity: number | null;
  f1: number | null;
  precision: number | null;
  recall: number | null;
  /** Mean of the available criteria; drives LoRA scales. */
  score: number;
  selectedBy: Array<'domain' | 'performance'>;
  weights?: Record<string, number>;
  /** Labelled sentences whose output was degraded while measuring F1 (see ExpertPerformance). */
  degraded?: number;
}

export interface SelectionResult {
  similarity: 'embedding' | 'lexical';
  targetTexts: number;
  labelled: number;
  seed: number;
  topByDomain: number;
  topByPerformance: number;
  rows: SelectionRow[];
  selected: string[];
  merge: MergePlan;
  /** LLM calls spent measuring performance (cache hits excluded). */
  calls: number;
}

/** A seeded sample of n items (Fisher-Yates on a copy), in their original order. */
export function seededSample<T>(items: readonly T[], n: number, seed: number): T[] {
  if (n >= items.length) return [...items];
  return seededOrder(items.length, seed)
    .slice(0, n)
    .sort((a, b) => a - b)
    .map((i) => items[i]);
}

/** Top-k names by a score (higher first; ties: earlier expert first); null scores never rank. */
function topBy(
  rows: readonly SelectionRow[],
  k: number,
  score: (r: SelectionRow) => number | null,
): string[] {
  return rows
    .map((r, i) => ({ r, i, s: score(r) }))
    .filter((x) => x.s !== null)
    .sort((a, b) => b.s! - a.s! || a.i - b.i)
    .slice(0, k)
    .map((x) => x.r.expert);
}

export interface SelectOptions {
  /** The config with the expert models added (configWithExperts). */
  config: Config;
  experts: readonly Expert[];
  target: readonly NerDocument[];
  labelled: number;
  topByDomain: number;
  topByPerformance: number;
  seed: number;
  engines: ReadonlyMap<string, Engine>;
  ledger: CostLedger;
  demos?: DemoSource | readonly NerDocument[];
  log?: (m: string) => void;
  /** Progress of each expert's run on the labelled sample (by its voter name). */
  progress?: MeasureOptions['progress'];
  /** Target texts used for domain similarity (default: up to 500 sampled with the seed). */
  maxTargetTexts?: number;
}

export async function domainSimilarities(
  config: Config,
  experts: readonly Expert[],
  targetTexts: readonly string[],
  engines: ReadonlyMap<string, Engine>,
  log: (m: string) => void = () => {},
): Promise<{ mode: 'embedding' | 'lexical'; values: Array<number | null> }> {
  if (config.embedding) {
    const engine = engines.get(config.embedding.model);
    if (!engine) throw new Error(`no engine for the embedding model "${config.embedding.model}"`);
    const target = await embeddingCentroid(engine, targetTexts);
    const values: Array<number | null> = [];
    for (const e of experts) {
      const texts = domainTexts(e);
      const c = e.domain?.centroid ?? (texts.length ? await embeddingCentroid(engine, texts) : undefined);
      if (!c) log(`expert ${e.name}: no domain samples or centroid, no domain similarity`);
      values.push(c ? cosine(target, c) : null);
    }
    return { mode: 'embedding', values };
  }
  const values = experts.map((e) => {
    const texts = domainTexts(e);
    if (texts.length === 0) {
      log(
        `expert ${e.name}: ${e.domain?.centroid ? 'a centroid needs `embedding.model`' : 'no domain samples'}; no domain similarity`,
      );
      return null;
    }
    return lexicalSimilarity(targetTexts, texts);
  });
  return { mode: 'lexical', values };
}

export async function selectExperts(opts: SelectOptions): Promise<SelectionResult> {
  const log = opts.log ?? (() => {});
  const targetTexts = seededSample(opts.target, opts.maxTargetTexts ?? 500, opts.seed).map((d) => d.text);
  const sim = await domainSimilarities(opts.config, opts.experts, targetTexts, opts.engines, log);
  const labelled = opts.labelled > 0 ? seededSample(opts.target, opts.labelled, opts.seed) : [];
  if (labelled.length > 0 && labelled.every((d) => d.entities.length === 0))
    log(
      `the ${labelled.length} sampled target sentence(s) have no gold entities, so F1 cannot tell the experts apart: is the target labelled? (--labelled 0 selects by domain only)`,
    );
  const before = opts.ledger.summary().total.calls;
  let perf: ExpertPerformance[] = [];
  if (labelled.length > 0) {
    perf = await measureExperts({
      config: opts.config,
      voters: opts.experts.map((e) => e.voter),
      labelled,
      engines: opts.engines,
      ledger: opts.ledger,
      demos: opts.demos,
      log,
      progress: opts.progress,
    });
  }
  const weights = reliabilityWeights(perf);
  const rows: SelectionRow[] = opts.experts.map((e, i) => {
    const p = perf[i];
    const ds = sim.values[i];
    const parts = [ds, p?.f1].filter((x): x is number => x !== null && x !== undefined);
    return {
      expert: e.name,
      voter: e.voter,
      domainSimilarity: ds,
      f1: p ? p.f1 : null,
      precision: p ? p.p : null,
      recall: p ? p.r : null,
      score: parts.length ? parts.reduce((a, b) => a + b, 0) / parts.length : 0,
      selectedBy: [],
      ...(p ? { weights: weights[e.voter], degraded: p.degraded } : {}),
    };
  });
  const byDomain = topBy(rows, opts.topByDomain, (r) => r.domainSimilarity);
  const byPerf = labelled.length ? topBy(rows, opts.topByPerformance, (r) => r.f1) : [];
  for (const r of rows) {
    if (byDomain.includes(r.expert)) r.selectedBy.push('domain');
    if (byPerf.includes(r.expert)) r.selectedBy.push('performance');
  }
  const chosen = rows.filter((r) => r.selectedBy.length > 0);
  const scored: ScoredExpert[] = chosen.map((r) => ({
    expert: opts.experts.find((e) => e.name === r.expert)!,
    score: r.score,
    ...(r.weights ? { weights: r.weights } : {}),
  }));
  return {
    similarity: sim.mode,
    targetTexts: targetTexts.length,
    labelled: labelled.length,
    seed: opts.seed,
    topByDomain: opts.topByDomain,
    topByPerformance: opts.topByPerformance,
    rows,
    selected: chosen.map((r) => r.expert),
    merge: planMerge(opts.config, scored),
    calls: opts.ledger.summary().total.calls - before,
  };
}

/** The selection as a printable table. */
export function formatSelection(r: SelectionResult): string {
  const f = (x: number | null, d = 4) => (x === null ? '-' : x.toFixed(d));
  const w = Math.max(6, ...r.rows.map((x) => x.expert.length));
  const lines = [
    `domain similarity: ${r.similarity === 'embedding' ? 'cosine of embedding centroids' : '1 - Jensen-Shannon (word + char-trigram distributions)'} over ${r.targetTexts} target text(s); F1 on ${r.labelled} labelled sentence(s), seed ${r.seed}`,
    `${'expert'.padEnd(w)}  domain sim  strict F1  selected by`,
  ];
  for (const x of r.rows)
    lines.push(
      `${x.expert.padEnd(w)}  ${f(x.domainSimilarity).padStart(10)}  ${f(x.f1).padStart(9)}  ${x.selectedBy.join(' + ') || '-'}`,
    );
  lines.push(
    `selected: ${r.selected.join(', ') || '(none)'}; backbones: ${r.merge.backbones.join(', ') || '-'}`,
  );
  for (const m of r.merge.models)
    lines.push(`merged ${m.name}: ${(m.lora ?? []).map((l) => `${l.path} x${l.scale}`).join(', ')}`);
  return lines.join('\n');
}

export { applyMerge };

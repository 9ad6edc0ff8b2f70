/**
 * Performance of experts on labelled target sentences (SaM criterion ii) and the per-type
 * reliability that becomes vote weights.
 *
 * Each expert runs alone through the decomposed EL4NER pipeline: retrieval as configured (its own
 * pre-extraction), extraction and classification by the expert ('single' stages), no verification.
 * Its score is strict micro-F1 on the sample.
 */

import { createMethod } from '../assemble/index.js';
import type { Config } from '../config/schema.js';
import type { NerDocument } from '../core/types.js';
import type { CostLedger } from '../engines/cost.js';
import type { Engine } from '../engines/types.js';
import type { DemoSource } from '../retrieval/demo-source.js';
import { countDegraded } from '../run/degraded.js';
import type { Progress } from '../run/progress.js';

export interface TypeCounts {
  tp: number;
  fp: number;
  fn: number;
}

export interface ExpertPerformance {
  voter: string;
  p: number;
  r: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
  perType: Record<string, TypeCounts>;
  /** Calls the run needed (cache hits excluded). */
  calls: number;
  /** Model failures during the run (including refusals by a call budget). */
  failures: number;
  /** Sentences whose output was degraded (a model's answer lost): the score is not the expert's own. */
  degraded: number;
}

const prf = (c: TypeCounts) => {
  const p = c.tp + c.fp ? c.tp / (c.tp + c.fp) : 0;
  const r = c.tp + c.fn ? c.tp / (c.tp + c.fn) : 0;
  return { p, r, f1: p + r ? (2 * p * r) / (p + r) : 0 };
};

/** Strict counts per type (unique (start, end, type) triples) of predictions against gold, same order. */
export function countsByType(
  gold: readonly NerDocument[],
  pred: readonly NerDocument[],
): Record<string, TypeCounts> {
  const out: Record<string, TypeCounts> = {};
  const at = (t: string) => {
    out[t] ??= { tp: 0, fp: 0, fn: 0 };
    return out[t];
  };
  const keys = (d: NerDocument | undefined) =>
    new Set((d?.entities ?? []).map((e) => `${e.start}:${e.end}:${e.type}`));
  gold.forEach((g, i) => {
    const goldSet = keys(g);
    const predSet = keys(pred[i]);
    const typeOf = (k: string) => k.slice(k.indexOf(':', k.indexOf(':') + 1) + 1);
    for (const k of goldSet) if (!predSet.has(k)) at(typeOf(k)).fn++;
    for (const k of predSet) {
      if (goldSet.has(k)) at(typeOf(k)).tp++;
      else at(typeOf(k)).fp++;
    }
  });
  return out;
}

export interface MeasureOptions {
  config: Config;
  voters: readonly string[];
  labelled: readonly NerDocument[];
  engines: ReadonlyMap<string, Engine>;
  ledger: CostLedger;
  demos?: DemoSource | readonly NerDocument[];
  log?: (m: string) => void;
  /** Progress of one voter's run over the `total` labelled sentences, ticked per sentence. */
  progress?: (voter: string, total: number) => Promise<Progress>;
}

/** Runs each voter alone on the labelled sentences. */
export async function measureExperts(opts: MeasureOptions): Promise<ExpertPerformance[]> {
  const out: ExpertPerformance[] = [];
  for (const voter of opts.voters) {
    const config: Config = {
      ...opts.config,
      backbones: [voter],
      verifier: voter,
      voteWeights: undefined,
      stages: {
        ...opts.config.stages,
        extraction: 'single',
        classification: 'single',
        verification: false,
        singleModel: voter,
      },
    };
    const before = opts.ledger.summary().total.calls;
    const method = await createMethod(config, {
      engines: { engines: opts.engines, ledger: opts.ledger },
      demos: opts.demos,
      log: opts.log ?? (() => {}),
    });
    const progress = await opts.progress?.(voter, opts.labelled.length);
    try {
      const result = await method.tag(opts.labelled, progress ? { onDocument: () => progress.tick() } : {});
      progress?.stop();
      const perType = countsByType(opts.labelled, result.docs);
      const total = Object.values(perType).reduce(
        (a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, fn: a.fn + c.fn }),
        { tp: 0, fp: 0, fn: 0 },
      );
      out.push({
        voter,
        ...prf(total),
        ...total,
        perType,
        calls: opts.ledger.summary().total.calls - before,
        failures: result.failures.reduce((a, f) => a + f.count, 0),
        degraded: countDegraded(result.docs).degraded,
      });
    } finally {
      progress?.stop('stopped');
      await method.close();
    }
  }
  return out;
}

/**
 * Vote weights from measured reliability: per type, the voter's smoothed precision
 * (tp + 1) / (tp + fp + 2) on that type (how far its "this is a T" can be trusted); 'none' is its
 * smoothed micro recall (tp + 1) / (tp + fn + 2): a voter that misses many entities says 'none' to
 * many real ones, so its 'none' is weak evidence however precise its entity votes are (weighting
 * 'none' by precision over-weighted precise, low-recall voters); '*' (unseen types) is its
 * smoothed micro precision. The result goes to config `voteWeights` with weighted-vote.
 */
export function reliabilityWeights(
  perf: readonly ExpertPerformance[],
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  for (const p of perf) {
    const w: Record<string, number> = {};
    for (const [type, c] of Object.entries(p.perType).sort(([a], [b]) => (a < b ? -1 : 1)))
      w[type] = round((c.tp + 1) / (c.tp + c.fp + 2));
    w['*'] = round((p.tp + 1) / (p.tp + p.fp + 2));
    w.none = round((p.tp + 1) / (p.tp + p.fn + 2));
    out[p.voter] = w;
  }
  return out;
}

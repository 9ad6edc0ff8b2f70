/**
 * `el4ner tune`: chooses the backbone subset, the verifier, k and the vote weights on a labelled
 * dev sample within a budget of LLM calls (see docs/experts.md).
 *
 * Budget: real model requests as counted by the cost ledger (chat and embedding); response-cache
 * hits are free. Before each candidate its calls are estimated (per sentence: pre-extraction B when
 * span-level retrieval runs, extraction B, classification B, verification 1; only the verification
 * calls when the cache holds an evaluated candidate with the same upstream settings) and the
 * candidate is skipped when the estimate is more than what is left. The engines are guarded
 * (budget.ts): a request that could pass the limit is refused, so the budget is never exceeded;
 * a candidate that saw refusals is 'incomplete' and cannot be chosen.
 * Search: the default config first (the choice is never worse than it on the dev sample), then
 * coordinate steps, each keeping a change only when strict micro-F1 strictly improves: drop the
 * backbone with the worst span F1 (repeat while it helps), each model as verifier and no
 * verification, k in {0, 2, 5, 8}, reliability weights on / off.
 */

import { chatModels } from '../assemble/engines.js';
import { createMethod } from '../assemble/index.js';
import type { Config } from '../config/schema.js';
import type { NerDocument } from '../core/types.js';
import { callsPerChunk } from '../el4ner/pipeline.js';
import type { PipelineReport } from '../el4ner/report.js';
import { resolveStages } from '../el4ner/switches.js';
import type { CostLedger } from '../engines/cost.js';
import type { Engine } from '../engines/types.js';
import type { DemoSource } from '../retrieval/demo-source.js';
import { type CachePeek, type CallBudget, guardEngines } from './budget.js';
import type { RawConfig } from './config-file.js';
import { type LambdaTuning, tuneFusionLambda } from './fusion-lambda.js';
import { measureExperts, reliabilityWeights } from './performance.js';

export interface TuneSettings {
  backbones: string[];
  /** null: verification off. */
  verifier: string | null;
  k: number;
  /** Per-voter per-type weights for weighted voting; undefined: hard voting. */
  weights?: Record<string, Record<string, number>>;
}

export interface CandidateRecord {
  id: number;
  step: 'default' | 'backbones' | 'verifier' | 'k' | 'weights';
  description: string;
  settings: TuneSettings;
  estimate: number;
  status: 'evaluated' | 'skipped' | 'incomplete';
  calls: number;
  f1?: number;
  precision?: number;
  recall?: number;
  /** Requests refused by the budget guard during this candidate. */
  refused?: number;
  note?: string;
}

export interface TuneResult {
  budget: number;
  callsUsed: number;
  devSentences: number;
  defaultF1: number | null;
  best: CandidateRecord | null;
  chosen: TuneSettings;
  candidates: CandidateRecord[];
  /** Calls spent measuring per-model reliability for the weights. */
  weightCalls: number;
  /** Fusion mode (fusion.llm without fusion.voter): the lambda search instead of the ensemble steps. */
  fusion?: LambdaTuning & { calls: number; status: 'evaluated' | 'skipped' | 'incomplete' };
  notes: string[];
}

export interface TuneOptions {
  config: Config;
  dev: readonly NerDocument[];
  budget: CallBudget;
  /** Unguarded engines (from createEngines, with the same ledger as the budget). */
  engines: Map<string, Engine>;
  ledger: CostLedger;
  /** Whether a response cache is in use (cheaper estimates for repeated upstream settings). */
  cache: boolean;
  /** Tells cached requests apart so they pass the budget guard for free (cachePeek). */
  isCached?: CachePeek;
  demos?: DemoSource | readonly NerDocument[];
  kValues?: readonly number[];
  log?: (m: string) => void;
}

/** The backbones EL4NER would use for this config (same rule as the pipeline). */
export function defaultBackbones(config: Config): string[] {
  return config.backbones
    ? [...config.backbones]
    : chatModels(
        config,
        config.models.map((m) => m.name),
      );
}

export function defaultSettings(config: Config): TuneSettings {
  const backbones = defaultBackbones(config);
  const weighted = config.stages.classification === 'weighted-vote' && config.voteWeights;
  return {
    backbones,
    verifier: config.stages.verification ? (config.verifier ?? backbones[0]) : null,
    k: config.retrieval.k,
    ...(weighted
      ? {
          weights: Object.fromEntries(
            Object.entries(config.voteWeights!).map(([m, w]) => [m, typeof w === 'number' ? { '*': w } : w]),
          ),
        }
      : {}),
  };
}

/** The config with the settings applied. */
export function applySettings(config: Config, s: TuneSettings): Config {
  const classification =
    s.weights !== undefined
      ? 'weighted-vote'
      : config.stages.classification === 'weighted-vote'
        ? 'vote'
        : config.stages.classification;
  return {
    ...config,
    backbones: [...s.backbones],
    ...(s.verifier ? { verifier: s.verifier } : {}),
    voteWeights: s.weights,
    retrieval: { ...config.retrieval, k: s.k },
    stages: { ...config.stages, verification: s.verifier !== null, classification },
  };
}

const upstreamKey = (s: TuneSettings) => `${s.backbones.join(',')}|${s.k}`;
const settingsKey = (s: TuneSettings) =>
  `${upstreamKey(s)}|${s.verifier ?? '-'}|${s.weights ? JSON.stringify(s.weights) : '-'}`;

function describe(s: TuneSettings): string {
  return `backbones ${s.backbones.join('+')}, verifier ${s.verifier ?? 'off'}, k ${s.k}, ${s.weights ? 'weighted' : 'hard'} vote`;
}

export async function tune(opts: TuneOptions): Promise<TuneResult> {
  const { config, dev, budget, ledger } = opts;
  const log = opts.log ?? (() => {});
  const notes: string[] = [];
  const guarded = guardEngines(opts.engines, budget, opts.isCached);
  const n = dev.length;
  const retrievalMode = config.retrieval.mode ?? config.stages.retrieval;
  const hasDemos = Boolean(opts.demos) || Boolean(config.pool);
  const candidates: CandidateRecord[] = [];
  const done = new Map<string, CandidateRecord>();
  const reports = new Map<number, PipelineReport>();
  const chatModels = defaultBackbones({ ...config, backbones: undefined });

  // Per sentence: the calls of the stages the candidate runs (the stage modules count them), plus
  // one embedding call when an embedding model embeds the query spans.
  const estimate = (s: TuneSettings): number => {
    const switches = resolveStages(applySettings(config, s));
    const calls = callsPerChunk({
      switches,
      backbones: s.backbones,
      singleModel: switches.singleModel ?? s.backbones[0],
      k: s.k,
      demos: hasDemos ? { size: 1 } : undefined,
    });
    const ver = calls.verify ?? 0;
    const upstream =
      Object.values(calls).reduce((a, c) => a + c, 0) -
      ver +
      (config.embedding && s.k > 0 && hasDemos ? 1 : 0);
    const sameUpstream = [...done.values()].some(
      (c) => c.status === 'evaluated' && upstreamKey(c.settings) === upstreamKey(s),
    );
    return n * ((opts.cache && sameUpstream ? 0 : upstream) + ver);
  };

  const evaluate = async (
    step: CandidateRecord['step'],
    s: TuneSettings,
    description = describe(s),
  ): Promise<CandidateRecord> => {
    const key = settingsKey(s);
    const prev = done.get(key);
    if (prev) return prev;
    const rec: CandidateRecord = {
      id: candidates.length,
      step,
      description,
      settings: s,
      estimate: estimate(s),
      status: 'skipped',
      calls: 0,
    };
    candidates.push(rec);
    if (rec.estimate > budget.remaining) {
      rec.note = `estimated ${rec.estimate} calls, ${budget.remaining} left`;
      log(`skip ${description}: ${rec.note}`);
      return rec;
    }
    const before = ledger.summary().total.calls;
    budget.resetRefusals();
    let method: Awaited<ReturnType<typeof createMethod>> | undefined;
    try {
      method = await createMethod(applySettings(config, s), {
        engines: { engines: guarded, ledger },
        demos: opts.demos,
        log: () => {},
      });
      const report = (await method.evaluate(dev)).details as PipelineReport;
      rec.calls = ledger.summary().total.calls - before;
      rec.refused = budget.refused;
      rec.f1 = report.final.micro.f1;
      rec.precision = report.final.micro.p;
      rec.recall = report.final.micro.r;
      rec.status = budget.refused > 0 ? 'incomplete' : 'evaluated';
      if (rec.status === 'evaluated') reports.set(rec.id, report);
      log(
        `${description}: strict F1 ${(100 * rec.f1).toFixed(2)}, ${rec.calls} calls${rec.status === 'incomplete' ? ' (incomplete: budget reached)' : ''}`,
      );
    } catch (e) {
      rec.calls = ledger.summary().total.calls - before;
      rec.refused = budget.refused;
      rec.status = 'incomplete';
      rec.note = (e as Error).message;
    } finally {
      await method?.close();
    }
    done.set(key, rec);
    return rec;
  };

  const base = defaultSettings(config);
  if (config.fusion?.llm && !config.fusion.voter) return tuneFusion(opts, guarded, base, notes);
  const first = await evaluate('default', base, `default: ${describe(base)}`);
  let best: CandidateRecord | null = first.status === 'evaluated' ? first : null;
  if (!best) notes.push('the default config could not be evaluated within the budget; nothing was changed');
  const better = (c: CandidateRecord) => c.status === 'evaluated' && best !== null && c.f1! > best.f1!;

  let weightCalls = 0;
  if (best) {
    // 1. Backbones: drop the one whose spans match gold worst, while that helps.
    while (best.settings.backbones.length > 1) {
      const report = reports.get(best.id)!;
      const spanF1 = (m: string) => {
        const x = report.extraction.perModel[m];
        if (!x) return -1;
        return x.spanPrecision + x.spanRecall
          ? (2 * x.spanPrecision * x.spanRecall) / (x.spanPrecision + x.spanRecall)
          : 0;
      };
      const worst = [...best.settings.backbones].sort((a, b) => spanF1(a) - spanF1(b))[0];
      const s: TuneSettings = {
        ...best.settings,
        backbones: best.settings.backbones.filter((b) => b !== worst),
      };
      if (s.weights) s.weights = Object.fromEntries(Object.entries(s.weights).filter(([m]) => m !== worst));
      const c = await evaluate('backbones', s, `drop ${worst}: ${describe(s)}`);
      if (!better(c)) break;
      best = c;
    }
    // 2. Verifier: each chat model, and none.
    const b0 = best;
    for (const v of [...chatModels, null]) {
      if (v === b0.settings.verifier) continue;
      const c = await evaluate('verifier', { ...b0.settings, verifier: v });
      if (better(c)) best = c;
    }
    // 3. k (number of demonstrations), when there is a pool to draw them from.
    if (hasDemos && retrievalMode !== 'none') {
      const b1 = best;
      for (const k of opts.kValues ?? [0, 2, 5, 8]) {
        if (k === b1.settings.k) continue;
        const c = await evaluate('k', { ...b1.settings, k });
        if (better(c)) best = c;
      }
    } else notes.push('k not tuned: no demonstration pool or retrieval none');
    // 4. Weights: reliability measured per backbone alone on the dev sample, then weighted vote on / off.
    if (best.settings.backbones.length > 1) {
      const b2 = best;
      if (b2.settings.weights) {
        const c = await evaluate('weights', { ...b2.settings, weights: undefined });
        if (better(c)) best = c;
      }
      const B = b2.settings.backbones.length;
      const pre = retrievalMode === 'span-level' && b2.settings.k > 0 && hasDemos ? 1 : 0;
      const need = B * n * (pre + 2) + estimate({ ...b2.settings, weights: {} });
      if (need > budget.remaining) {
        notes.push(`weights not measured: about ${need} calls needed, ${budget.remaining} left`);
      } else {
        const before = ledger.summary().total.calls;
        budget.resetRefusals();
        const perf = await measureExperts({
          config: applySettings(config, b2.settings),
          voters: b2.settings.backbones,
          labelled: dev,
          engines: guarded,
          ledger,
          demos: opts.demos,
        });
        weightCalls = ledger.summary().total.calls - before;
        if (budget.refused > 0) notes.push('weights not used: the budget ran out while measuring them');
        else {
          const c = await evaluate('weights', { ...b2.settings, weights: reliabilityWeights(perf) });
          if (better(c)) best = c;
        }
      }
    }
  }
  return {
    budget: budget.limit,
    callsUsed: budget.used,
    devSentences: n,
    defaultF1: first.status === 'evaluated' ? first.f1! : null,
    best,
    chosen: best ? best.settings : base,
    candidates,
    weightCalls,
    notes,
  };
}

/**
 * Fusion mode: `el4ner run` runs the SLM+LLM fusion tagger, so only lambda matters. The LLM tags
 * every dev sentence once (estimate: one call per sentence); lambda is chosen from those answers.
 */
async function tuneFusion(
  opts: TuneOptions,
  guarded: Map<string, Engine>,
  base: TuneSettings,
  notes: string[],
): Promise<TuneResult> {
  const { budget, ledger, dev } = opts;
  const result: TuneResult = {
    budget: budget.limit,
    callsUsed: 0,
    devSentences: dev.length,
    defaultF1: null,
    best: null,
    chosen: base,
    candidates: [],
    weightCalls: 0,
    notes,
  };
  notes.push('fusion mode (fusion.llm without fusion.voter): only fusion.lambda is tuned');
  if (dev.length > budget.remaining) {
    notes.push(`fusion lambda not tuned: about ${dev.length} calls needed, ${budget.remaining} left`);
    result.callsUsed = budget.used;
    return result;
  }
  const before = ledger.summary().total.calls;
  budget.resetRefusals();
  const t = await tuneFusionLambda(opts.config, dev, guarded, ledger);
  const calls = ledger.summary().total.calls - before;
  const status = budget.refused > 0 ? 'incomplete' : 'evaluated';
  result.fusion = { ...t, calls, status };
  if (status === 'incomplete') {
    result.fusion.chosen = t.defaultLambda;
    notes.push('fusion lambda not changed: the budget ran out while the LLM tagged the dev sample');
  }
  result.defaultF1 = t.defaultF1;
  result.callsUsed = budget.used;
  return result;
}

/** The user's raw config (as written) with the chosen settings. */
export function applySettingsRaw(raw: RawConfig, s: TuneSettings, fusion?: TuneResult['fusion']): RawConfig {
  const out: RawConfig = structuredClone(raw);
  if (fusion) {
    if (typeof fusion.chosen === 'number')
      out.fusion = {
        ...(out.fusion ?? {}),
        lambda: fusion.chosen,
        ...(fusion.chosenOutside !== undefined ? { lambdaOutside: fusion.chosenOutside } : {}),
      };
    return out;
  }
  out.backbones = [...s.backbones];
  if (s.verifier) out.verifier = s.verifier;
  const stages: RawConfig = { ...(out.stages ?? {}), verification: s.verifier !== null };
  if (s.weights) {
    out.voteWeights = s.weights;
    stages.classification = 'weighted-vote';
  } else {
    delete out.voteWeights;
    if (stages.classification === 'weighted-vote') stages.classification = 'vote';
  }
  out.stages = stages;
  out.retrieval = { ...(out.retrieval ?? {}), k: s.k };
  return out;
}

/** Every candidate as a table line. */
export function formatTune(r: TuneResult): string {
  const lines = [`tuning on ${r.devSentences} dev sentence(s); ${r.callsUsed} of ${r.budget} call(s) used`];
  if (r.fusion) {
    const f = r.fusion;
    const pct = (x: number | null) => (x === null ? '-' : (100 * x).toFixed(2));
    lines.push(
      `fusion lambda: configured ${f.defaultLambda} (dev F1 ${pct(f.defaultF1)}), best ${f.lambda.toPrecision(4)} (dev F1 ${pct(f.f1)}, ${f.valuesTried} values tried, ${f.calls} calls, ${f.status})`,
      `chosen: fusion.lambda ${f.chosen}`,
    );
    return lines.join('\n');
  }
  if (r.candidates.length === 0) return [...lines, 'nothing evaluated'].join('\n');
  lines.push('  #  step       status      F1      calls  estimate  settings');
  for (const c of r.candidates)
    lines.push(
      `${String(c.id).padStart(3)}  ${c.step.padEnd(9)}  ${c.status.padEnd(10)}  ${c.f1 === undefined ? '     -' : (100 * c.f1).toFixed(2).padStart(6)}  ${String(c.calls).padStart(5)}  ${String(c.estimate).padStart(8)}  ${c.description}`,
    );
  lines.push(`chosen: ${describe(r.chosen)}`);
  return lines.join('\n');
}

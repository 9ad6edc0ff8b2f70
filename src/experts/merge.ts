/**
 * Merging the selected experts (SaM) into one runnable config.
 * - Experts with LoRA adapters on the same llama-cpp base are merged at inference into one model
 *   entry `<base>.experts` holding all their adapters; node-llama-cpp applies them together at
 *   context creation, each with scale = its configured scale x the expert's normalised selection
 *   score (score / sum of the scores of the experts merged on that base).
 * - Every other expert (and each merged model) is a backbone; their outputs are merged by weighted
 *   voting with per-type reliability weights (`voteWeights`, classification 'weighted-vote').
 */
import type { Config, LlamaCppModelConfig, ModelConfig } from '../config/schema.js';
import type { Expert } from './registry.js';

export interface ScoredExpert {
  expert: Expert;
  /** The selection score in [0, 1] (see selectionScore). */
  score: number;
  /** Per-type vote weights measured for the expert, if any. */
  weights?: Record<string, number>;
}

export interface MergePlan {
  /** Models added to the config (merged LoRA models). */
  models: LlamaCppModelConfig[];
  backbones: string[];
  voteWeights?: Record<string, Record<string, number>>;
  classification?: 'weighted-vote';
  verifier?: string;
}

/** Adapter scales: the configured scale times the normalised scores (equal shares when all are 0). */
export function loraScales(scored: readonly ScoredExpert[]): Array<{ path: string; scale: number }> {
  const total = scored.reduce((a, s) => a + Math.max(0, s.score), 0);
  const out: Array<{ path: string; scale: number }> = [];
  for (const s of scored) {
    const share = total > 0 ? Math.max(0, s.score) / total : 1 / scored.length;
    for (const l of s.expert.lora ?? [])
      out.push({ path: l.path, scale: Math.round(l.scale * share * 1e4) / 1e4 });
  }
  return out;
}

/** The llama-cpp model entry that runs several LoRA experts of one base model together. */
export function mergedLoraModel(
  base: LlamaCppModelConfig,
  scored: readonly ScoredExpert[],
): LlamaCppModelConfig {
  return { ...base, name: `${base.name}.experts`, lora: [...(base.lora ?? []), ...loraScales(scored)] };
}

function averageWeights(scored: readonly ScoredExpert[]): Record<string, number> | undefined {
  const withW = scored.filter((s) => s.weights);
  if (withW.length === 0) return undefined;
  const total = withW.reduce((a, s) => a + Math.max(0, s.score), 0);
  const out: Record<string, number> = {};
  const types = new Set(withW.flatMap((s) => Object.keys(s.weights!)));
  for (const t of [...types].sort()) {
    let v = 0;
    for (const s of withW) {
      const share = total > 0 ? Math.max(0, s.score) / total : 1 / withW.length;
      v += share * (s.weights![t] ?? s.weights!['*'] ?? 1);
    }
    out[t] = Math.round(v * 1e4) / 1e4;
  }
  return out;
}

/** Plans the merged config for the selected experts (in selection order). */
export function planMerge(config: Config, selected: readonly ScoredExpert[]): MergePlan {
  const models: LlamaCppModelConfig[] = [];
  const backbones: string[] = [];
  const voteWeights: Record<string, Record<string, number>> = {};
  const loraByBase = new Map<string, ScoredExpert[]>();
  for (const s of selected) {
    if (s.expert.lora?.length) {
      loraByBase.set(s.expert.model, [...(loraByBase.get(s.expert.model) ?? []), s]);
      continue;
    }
    if (!backbones.includes(s.expert.voter)) backbones.push(s.expert.voter);
    if (s.weights) voteWeights[s.expert.voter] = s.weights;
  }
  for (const [baseName, group] of loraByBase) {
    const base = config.models.find((m) => m.name === baseName) as LlamaCppModelConfig;
    const merged = mergedLoraModel(base, group);
    models.push(merged);
    backbones.push(merged.name);
    const w = averageWeights(group);
    if (w) voteWeights[merged.name] = w;
  }
  const plan: MergePlan = { models, backbones };
  if (backbones.length > 1 && Object.keys(voteWeights).length > 0) {
    plan.voteWeights = voteWeights;
    plan.classification = 'weighted-vote';
  }
  plan.verifier = config.verifier && backbones.includes(config.verifier) ? config.verifier : backbones[0];
  return plan;
}

/** The config with the plan applied: merged models added, backbones / verifier / weights set. */
export function applyMerge(config: Config, plan: MergePlan): Config {
  const models: ModelConfig[] = [
    ...config.models,
    ...plan.models.filter((m) => !config.models.some((x) => x.name === m.name)),
  ];
  return {
    ...config,
    models,
    backbones: plan.backbones,
    ...(plan.verifier ? { verifier: plan.verifier } : {}),
    ...(plan.voteWeights ? { voteWeights: plan.voteWeights } : {}),
    stages: { ...config.stages, ...(plan.classification ? { classification: plan.classification } : {}) },
  };
}

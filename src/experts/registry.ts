/**
 * The expert registry (SaM): an expert is a model from `models` (any engine), optionally with LoRA
 * adapters (embedded llama-cpp engine only), and a description of its source domain: sample texts
 * (`domain.samples` file, `domain.texts` inline) or a stored embedding `centroid`.
 *
 * An expert with adapters votes under its own name: `expertModels` derives one llama-cpp model
 * entry per such expert (the base model's settings + the adapters), so that several experts can
 * share one base GGUF and still be separate voters.
 */
import type { Config, ExpertConfig, LlamaCppModelConfig, ModelConfig } from '../config/schema.js';
import { ConfigError, InputError } from '../core/errors.js';
import { utf8FileText } from '../formats/decode.js';

export interface Expert {
  name: string;
  /** The `models` entry the expert's base runs on. */
  model: string;
  /** The model name the expert answers and votes under (its own name when it has adapters). */
  voter: string;
  lora?: Array<{ path: string; scale: number }>;
  domain?: ExpertConfig['domain'];
  weights?: Record<string, number>;
}

/** The experts of the config; throws ConfigError for adapters on a non-llama-cpp model or name clashes. */
export function resolveExperts(config: Config): Expert[] {
  const experts = config.experts ?? [];
  const models = new Map(config.models.map((m) => [m.name, m]));
  const seen = new Set<string>();
  return experts.map((e, i) => {
    if (seen.has(e.name)) throw new ConfigError(`experts[${i}]: duplicate expert name "${e.name}"`);
    seen.add(e.name);
    const base = models.get(e.model);
    if (!base) throw new ConfigError(`experts[${i}].model: no model named "${e.model}" in models`);
    const hasLora = (e.lora?.length ?? 0) > 0;
    if (hasLora && base.engine !== 'llama-cpp')
      throw new ConfigError(
        `experts[${i}] "${e.name}": LoRA adapters need the llama-cpp engine (model "${e.model}" is ${base.engine}); ` +
          'for a server that serves adapters as models (vLLM --lora-modules), list the adapter as its own model',
      );
    if (hasLora && models.has(e.name) && e.name !== e.model)
      throw new ConfigError(`experts[${i}] "${e.name}": an expert with adapters needs a name no model uses`);
    return {
      name: e.name,
      model: e.model,
      voter: hasLora ? e.name : e.model,
      ...(hasLora ? { lora: e.lora!.map((l) => ({ path: l.path, scale: l.scale ?? 1 })) } : {}),
      ...(e.domain ? { domain: e.domain } : {}),
      ...(e.weights ? { weights: e.weights } : {}),
    };
  });
}

/** Model entries for experts with adapters: the base llama-cpp model + the expert's adapters. */
export function expertModels(config: Config, experts: readonly Expert[]): LlamaCppModelConfig[] {
  const out: LlamaCppModelConfig[] = [];
  for (const e of experts) {
    if (!e.lora || e.voter === e.model) continue;
    const base = config.models.find((m) => m.name === e.model) as LlamaCppModelConfig;
    out.push({ ...base, name: e.voter, lora: [...(base.lora ?? []), ...e.lora] });
  }
  return out;
}

/** The config with the derived expert models appended (no backbones changed). */
export function configWithExperts(config: Config, experts: readonly Expert[]): Config {
  const extra = expertModels(config, experts).filter((m) => !config.models.some((x) => x.name === m.name));
  return { ...config, models: [...config.models, ...(extra as ModelConfig[])] };
}

/** Plain texts of a sample file: JSONL (`text`, or `tokens` joined by spaces) or one text per line. */
export function readSampleTexts(file: string): string[] {
  let raw: string;
  try {
    raw = utf8FileText(file, 'domain samples are UTF-8 text: convert them (iconv -f latin1 -t utf-8)');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read domain samples: ${(e as Error).message}`, file);
  }
  const lines = raw.split(/\r?\n/);
  const texts: string[] = [];
  const jsonl = /\.jsonl?$/i.test(file);
  lines.forEach((line, i) => {
    const t = line.trim();
    if (!t) return;
    if (!jsonl) {
      texts.push(t);
      return;
    }
    let obj: { text?: unknown; tokens?: unknown };
    try {
      obj = JSON.parse(t);
    } catch {
      throw new InputError('not valid JSON', file, i + 1);
    }
    if (typeof obj.text === 'string') texts.push(obj.text);
    else if (Array.isArray(obj.tokens)) texts.push(obj.tokens.map(String).join(' '));
    else throw new InputError('a domain sample needs "text" or "tokens"', file, i + 1);
  });
  return texts;
}

/** The expert's source-domain texts (file samples + inline texts); empty when it only has a centroid. */
export function domainTexts(expert: Expert): string[] {
  const texts: string[] = [];
  if (expert.domain?.samples) texts.push(...readSampleTexts(expert.domain.samples));
  if (expert.domain?.texts) texts.push(...expert.domain.texts);
  return texts;
}

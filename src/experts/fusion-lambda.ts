/**
 * Tuning the SLM+LLM fusion lambda inside `el4ner tune` (config `fusion.llm` without
 * `fusion.voter`: `el4ner run` then runs the fusion method, not the EL4NER ensemble).
 * The LLM tags each dev sentence once (1 call per sentence, through the budget guard); lambda is
 * then chosen from those answers with the fusion module's own search (no more calls), and the
 * configured lambda, when it is a number, is scored on the same answers, so the choice is never
 * worse than it on the dev sample.
 */
import { createFusionTagger } from '../assemble/index.js';
import type { Config } from '../config/schema.js';
import type { NerDocument } from '../core/types.js';
import type { CostLedger } from '../engines/cost.js';
import type { Engine } from '../engines/types.js';
import type { Progress } from '../run/progress.js';

export interface LambdaTuning {
  /** The configured lambda's dev F1 (null when it is 'auto'). */
  defaultLambda: number | 'auto';
  defaultF1: number | null;
  lambda: number;
  /** The lambda for removing SLM entities found with it. */
  lambdaOutside: number;
  f1: number;
  valuesTried: number;
  chosen: number | 'auto';
  /** The removal lambda written with `chosen` (undefined: keep the config's). */
  chosenOutside?: number;
}

/** The tuning, and the dev sentences the LLM did not answer (tagged by the SLM alone: degraded). */
export interface LambdaTuningRun extends LambdaTuning {
  degraded: number;
}

export async function tuneFusionLambda(
  config: Config,
  dev: readonly NerDocument[],
  engines: ReadonlyMap<string, Engine>,
  ledger: CostLedger,
  /** Progress of the LLM's answers over the dev sentences, ticked per sentence. */
  progress?: (label: string, total: number) => Promise<Progress>,
): Promise<LambdaTuningRun> {
  const f = config.fusion!;
  const { fusion, close } = await createFusionTagger(config, { engines: { engines, ledger }, log: () => {} });
  let bar: Progress | undefined;
  try {
    bar = await progress?.('fusion: LLM answers', dev.length);
    const analyses = [];
    for (const d of dev) {
      analyses.push(await fusion.analyse(d));
      bar?.tick();
    }
    bar?.stop();
    const best = await fusion.tune(dev, { analyses });
    let defaultF1: number | null = null;
    if (typeof f.lambda === 'number') defaultF1 = (await fusion.tune(dev, { analyses, grid: [f.lambda] })).f1;
    const keepDefault = defaultF1 !== null && !(best.f1 > defaultF1);
    return {
      defaultLambda: f.lambda,
      defaultF1,
      lambda: best.lambda,
      lambdaOutside: best.lambdaOutside,
      f1: best.f1,
      valuesTried: best.curve.length + best.outsideCurve.length,
      chosen: keepDefault ? (f.lambda as number) : best.lambda,
      ...(keepDefault ? {} : { chosenOutside: best.lambdaOutside }),
      degraded: best.llmFailures,
    };
  } finally {
    bar?.stop('stopped');
    await close();
  }
}

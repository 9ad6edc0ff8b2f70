/**
 * Tuning the SLM+LLM fusion lambda inside `el4ner tune` (config `fusion.llm` without
 * `fusion.voter`: `el4ner run` then runs the fusion tagger, not the EL4NER ensemble).
 * The LLM tags each dev sentence once (1 call per sentence, through the budget guard); lambda is
 * then chosen from those answers with the fusion module's own search (no more calls), and the
 * configured lambda, when it is a number, is scored on the same answers, so the choice is never
 * worse than it on the dev sample.
 */
import { existsSync, statSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { NerDocument } from '../core/types.js';
import type { Engine } from '../engines/types.js';
import type { DemonstrationSource } from '../fusion/inline-tagging.js';

export interface LambdaTuning {
  /** The configured lambda's dev F1 (null when it is 'auto'). */
  defaultLambda: number | 'auto';
  defaultF1: number | null;
  lambda: number;
  f1: number;
  valuesTried: number;
  chosen: number | 'auto';
}

/** Demonstrations from the pool, as `el4ner run` gives the fusion LLM (built in memory, gold spans). */
async function demonstrations(
  config: Config,
  engines: ReadonlyMap<string, Engine>,
): Promise<DemonstrationSource | undefined> {
  const mode = config.retrieval.mode ?? config.stages.retrieval;
  if (!config.pool || mode === 'none' || config.retrieval.k === 0) return undefined;
  const r = await import('../retrieval/public.js');
  const { demonstrationsFromRetriever } = await import('../fusion/demonstrations.js');
  const embedEngine = config.embedding ? engines.get(config.embedding.model) : undefined;
  const embedder = embedEngine ? new r.EngineEmbedder(embedEngine) : new r.LexicalEmbedder();
  const retriever =
    existsSync(config.pool) && statSync(config.pool).isDirectory()
      ? await r.DemonstrationRetriever.load(config.pool, embedder)
      : await r.DemonstrationRetriever.build((await r.readPoolFile(config.pool)).docs, {
          embedder,
          spans: 'gold',
          weights: config.retrieval.weights,
          posOf: config.retrieval.posOf,
        });
  return demonstrationsFromRetriever(retriever, { mode, k: config.retrieval.k, seed: config.retrieval.seed });
}

export async function tuneFusionLambda(
  config: Config,
  dev: readonly NerDocument[],
  engines: ReadonlyMap<string, Engine>,
): Promise<LambdaTuning> {
  const f = config.fusion!;
  const { fusionFromConfig } = await import('../fusion/from-config.js');
  const retriever = await demonstrations(config, engines);
  const fusion = await fusionFromConfig(f, engines, {
    retriever,
    ...(config.labels?.length ? { types: config.labels } : {}),
  });
  const analyses = [];
  for (const d of dev) analyses.push(await fusion.analyse(d));
  const best = await fusion.tune(dev, { analyses });
  let defaultF1: number | null = null;
  if (typeof f.lambda === 'number') defaultF1 = (await fusion.tune(dev, { analyses, grid: [f.lambda] })).f1;
  const chosen = defaultF1 !== null && !(best.f1 > defaultF1) ? (f.lambda as number) : best.lambda;
  return {
    defaultLambda: f.lambda,
    defaultF1,
    lambda: best.lambda,
    f1: best.f1,
    valuesTried: best.curve.length,
    chosen,
  };
}

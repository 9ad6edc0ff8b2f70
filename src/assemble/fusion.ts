/**
 * The SLM+LLM fusion method of a config (`fusion.llm` set, `fusion.voter` not true): the CRF of
 * `fusion.slm`, the LLM engine, demonstrations from the shared demonstration source (queried
 * with the SLM's entities), the chunk size of the config, and lambda: the configured number, or
 * chosen on the dev documents (`fusion.dev`, or handed in) when it is 'auto'.
 */
import type { Config } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import type { Method } from '../core/method.js';
import type { NerDocument } from '../core/types.js';
import type { DemonstrationSource } from '../fusion/inline-tagging.js';
import { createFusionMethod } from '../fusion/method.js';
import { createFusion, type Fusion } from '../fusion/pipeline.js';
import type { DemoSource } from '../retrieval/demo-source.js';
import type { Slm } from '../slm/load.js';
import type { AssembledEngines } from './engines.js';
import { requireEngine } from './engines.js';
import { loadSlm } from './slm.js';

/** Demonstrations for the inline prompt: the shared source, queried with the SLM's entities (never gold). */
export function fusionDemonstrations(
  demos: DemoSource | undefined,
  mode: Parameters<DemoSource['select']>[2]['mode'],
  k: number,
): DemonstrationSource | undefined {
  if (!demos || mode === 'none' || k === 0) return undefined;
  return (doc: NerDocument) => demos.select(doc.text, doc.entities, { mode, k });
}

export interface FusionAssembly {
  config: Config;
  engines: AssembledEngines;
  demos?: DemoSource;
  retrievalMode: Parameters<DemoSource['select']>[2]['mode'];
  concurrency: number;
  log: (message: string) => void;
  /** Dev documents for lambda 'auto' (default: read from `fusion.dev` by the caller). */
  dev?: () => Promise<readonly NerDocument[]>;
  release: () => Promise<void>;
}

/** The fusion tagger itself (lambda not tuned yet). */
export async function buildFusion(
  a: Pick<FusionAssembly, 'config' | 'engines' | 'demos' | 'retrievalMode'>,
): Promise<{ fusion: Fusion; slm: Slm }> {
  const f = a.config.fusion;
  if (!f?.llm) throw new ConfigError('fusion.llm: no LLM named for fusion');
  const llm = requireEngine(a.engines.engines, f.llm, 'fusion.llm');
  const slm = await loadSlm(f.slm);
  const fusion = createFusion({
    slm,
    llm,
    lambda: f.lambda,
    ...(f.lambdaOutside !== undefined ? { lambdaOutside: f.lambdaOutside } : {}),
    probability: f.probability,
    retriever: fusionDemonstrations(a.demos, a.retrievalMode, a.config.retrieval.k),
    maxChars: a.config.maxChars,
    ...(a.config.labels?.length ? { types: a.config.labels } : {}),
  });
  return { fusion, slm };
}

export async function assembleFusion(a: FusionAssembly): Promise<Method> {
  const { fusion, slm } = await buildFusion(a);
  try {
    return await fusionMethod(a, fusion, slm);
  } catch (e) {
    await slm.close();
    throw e;
  }
}

async function fusionMethod(a: FusionAssembly, fusion: Fusion, slm: Slm): Promise<Method> {
  let lambdaSearch: { devDocuments: number; result: Awaited<ReturnType<Fusion['tune']>> } | undefined;
  if (fusion.lambda === undefined) {
    if (!a.dev) {
      throw new ConfigError(
        "fusion.lambda is 'auto' but fusion.dev is not set: give fusion.dev (gold-labelled documents to choose lambda on) or set fusion.lambda to a number",
      );
    }
    const dev = await a.dev();
    if (dev.length === 0) throw new ConfigError('fusion.dev: no documents to choose lambda on');
    const result = await fusion.tune(dev, { concurrency: a.concurrency });
    lambdaSearch = { devDocuments: dev.length, result };
    a.log(describeLambdaSearch(result, dev.length));
  }
  const method = createFusionMethod({
    fusion,
    llm: a.config.fusion!.llm!,
    slmName: `${slm.description} ${slm.path}`,
    slmPath: slm.path,
    labels: [...fusion.types],
    ledger: a.engines.ledger,
    concurrency: a.concurrency,
    log: a.log,
    lambdaSearch,
    release: async () => {
      await a.release();
      await slm.close();
    },
  });
  a.log(method.info.description);
  return method;
}

export function describeLambdaSearch(
  s: { lambda: number; f1: number; curve: readonly unknown[]; llmFailures: number },
  devDocs: number,
): string {
  const failed = s.llmFailures
    ? `; the LLM failed on ${s.llmFailures} of them (the SLM alone there): a degraded choice`
    : '';
  return `lambda ${s.lambda.toPrecision(4)} chosen on ${devDocs} dev document(s) (strict F1 ${(100 * s.f1).toFixed(2)}, ${s.curve.length} values tried)${failed}`;
}

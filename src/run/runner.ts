/**
 * Picks what `el4ner run`, `serve` and queue workers execute for a config:
 * - models configured: the EL4NER pipeline (with the CRF as one more voter when `fusion.voter`);
 * - `fusion` with an LLM: the SLM+LLM confidence fusion;
 * - no LLM at all but a CRF model (`fusion.slm`): the supervised tagger alone, and it says so.
 */
import type { Config } from '../config/schema.js';
import type { NerDocument } from '../core/types.js';
import type { CostSummary } from '../engines/cost.js';
import { CostLedger } from '../engines/cost.js';
import type { StageOverrides } from '../pipeline/stages.js';

export interface RunnerFailure {
  model: string;
  stage: string;
  count: number;
  lastError: string;
}

export interface Runner {
  readonly kind: 'el4ner' | 'fusion' | 'slm';
  /** Names of the models whose failure makes a document fail (an empty list for the SLM alone). */
  readonly models: string[];
  /** Tags documents; `onDocument` is called once per finished document, in input order. */
  extract(docs: NerDocument[], opts?: { onDocument?: (doc: NerDocument) => void | Promise<void> }): Promise<NerDocument[]>;
  /** Like extract, with the model failures that happened on the way. */
  run(docs: NerDocument[]): Promise<{ docs: NerDocument[]; failures: RunnerFailure[] }>;
  cost(): CostSummary;
  formatCost(): string;
  close(): Promise<void>;
}

export interface RunnerOptions {
  noCache?: boolean;
  cachePath?: string;
  log?: (message: string) => void;
  concurrency?: number;
  stages?: StageOverrides;
}

export async function createRunner(config: Config, opts: RunnerOptions = {}): Promise<Runner> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`el4ner: ${m}\n`));
  const hasModels = config.models.length > 0;
  if (!hasModels) {
    if (!config.fusion?.slm) {
      const { ConfigError } = await import('../core/errors.js');
      throw new ConfigError('no models and no SLM: configure `models` (LLMs) or `fusion.slm` (a CRF model from el4ner train-slm)');
    }
    const { CrfTagger } = await import('../slm/tagger.js');
    const tagger = await CrfTagger.load(config.fusion.slm);
    log(`no LLM configured: tagging with the supervised CRF alone (${config.fusion.slm})`);
    const ledger = new CostLedger();
    const extract: Runner['extract'] = async (docs, o) => {
      const out: NerDocument[] = [];
      for (const d of docs) {
        const p = tagger.predict(d);
        const doc: NerDocument = { id: d.id, text: d.text, entities: p.entities, ...(d.meta ? { meta: d.meta } : {}) };
        out.push(doc);
        await o?.onDocument?.(doc);
      }
      return out;
    };
    return {
      kind: 'slm',
      models: [],
      extract,
      run: async (docs) => ({ docs: await extract(docs), failures: [] }),
      cost: () => ledger.summary(),
      formatCost: () => ledger.format(),
      close: async () => {},
    };
  }
  const { createPipeline } = await import('../pipeline/el4ner.js');
  const pipeline = createPipeline({
    config,
    noCache: opts.noCache,
    cachePath: opts.cachePath,
    log,
    concurrency: opts.concurrency,
    stages: opts.stages,
  });
  const info = await pipeline.ready();
  return {
    kind: 'el4ner',
    models: [...new Set([...info.backbones, ...(pipeline.stages.verification ? [info.verifier] : [])])],
    extract: (docs, o) => pipeline.extract(docs, o?.onDocument ? { onDocument: (d) => o.onDocument!(d) } : undefined),
    run: async (docs) => {
      const r = await pipeline.run(docs);
      return { docs: r.docs, failures: r.failures };
    },
    cost: () => pipeline.cost(),
    formatCost: () => pipeline.formatCost(),
    close: () => pipeline.close(),
  };
}

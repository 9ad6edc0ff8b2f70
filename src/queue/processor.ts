/** The document processor of a queue worker: the same runner `el4ner run` uses, built from a config. */
import { loadConfig } from '../config/load.js';
import { queuedDocument } from './keys.js';
import type { DocumentProcessor } from './worker.js';

export async function processorFromConfig(
  configPath: string,
  opts: { noCache?: boolean; cachePath?: string } = {},
): Promise<DocumentProcessor & { concurrency: number }> {
  const config = loadConfig(configPath);
  const { createRunner } = await import('../run/runner.js');
  const runner = await createRunner(config, { noCache: opts.noCache, cachePath: opts.cachePath });
  return {
    concurrency: config.concurrency,
    async process(doc) {
      const [out] = await runner.extract([{ ...queuedDocument(doc), entities: [] }]);
      return out;
    },
    costs: () => runner.cost(),
    close: () => runner.close(),
  };
}

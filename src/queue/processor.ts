/** The document processor of a queue worker: the same method `el4ner run` uses, built from a config. */
import { createMethod } from '../assemble/index.js';
import { loadConfig } from '../config/load.js';
import { queuedDocument } from './keys.js';
import type { DocumentProcessor } from './worker.js';

export async function processorFromConfig(
  configPath: string,
  opts: { noCache?: boolean; cachePath?: string } = {},
): Promise<DocumentProcessor & { concurrency: number }> {
  const config = loadConfig(configPath);
  const method = await createMethod(config, { noCache: opts.noCache, cachePath: opts.cachePath });
  return {
    concurrency: config.concurrency,
    async process(doc) {
      const [out] = await method.extract([{ ...queuedDocument(doc), entities: [] }]);
      return out;
    },
    costs: () => method.cost(),
    close: () => method.close(),
  };
}

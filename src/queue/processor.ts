/** The document processor of a queue worker: the same method `el4ner run` uses, built from a config. */
import { createMethod } from '../assemble/index.js';
import { loadConfig } from '../config/load.js';
import { defaultBreakerOptions } from '../engines/breaker.js';
import { runFingerprint } from '../run/fingerprint.js';
import { queuedDocument } from './keys.js';
import type { DocumentProcessor } from './worker.js';

export async function processorFromConfig(
  configPath: string,
  opts: { noCache?: boolean; cachePath?: string } = {},
): Promise<DocumentProcessor & { concurrency: number }> {
  const config = loadConfig(configPath);
  const method = await createMethod(config, {
    noCache: opts.noCache,
    cachePath: opts.cachePath,
    configFile: configPath,
  });
  // what `el4ner run` records of a config (answer-relevant keys, named files by content); a worker
  // has no command-line stage switches
  const { config: hash, configParts: parts } = runFingerprint(config, {}, []);
  // the longest first cooldown of the models' circuit breakers: a document refused by an open
  // breaker is asked again no sooner
  const cooldownMs = Math.max(
    0,
    ...config.models.map((m) =>
      (m.circuitBreaker?.failures ?? defaultBreakerOptions.failures) > 0
        ? (m.circuitBreaker?.cooldownMs ?? defaultBreakerOptions.cooldownMs)
        : 0,
    ),
  );
  return {
    concurrency: config.concurrency,
    fingerprint: { hash, parts },
    async process(doc) {
      const [out] = await method.extract([{ ...queuedDocument(doc), entities: [] }]);
      return out;
    },
    retryLaterMs(err) {
      // no model answered, and no request was sent for it: their breakers are open
      const e = err as { name?: string; notSent?: boolean };
      return e?.name === 'NoAnswerError' && e.notSent === true ? Math.max(cooldownMs, 1000) : undefined;
    },
    costs: () => method.cost(),
    close: () => method.close(),
  };
}

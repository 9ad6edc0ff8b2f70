/**
 * EL4NER methods for tests, built by the same `createMethod` the CLI uses (engines handed in),
 * with the per-stage report and chunk traces typed.
 */
import { createMethod, type MethodOptions } from '../../src/assemble/index.js';
import type { Config } from '../../src/config/schema.js';
import type { Method, MethodInput, TagOptions, TagResult } from '../../src/core/method.js';
import type { PipelineReport } from '../../src/el4ner/report.js';
import type { ChunkTrace } from '../../src/el4ner/state.js';

export interface TestPipeline {
  method: Method;
  run(input: MethodInput, opts?: TagOptions): Promise<Omit<TagResult, 'traces'> & { traces: ChunkTrace[] }>;
  extract: Method['extract'];
  evaluate(gold: Parameters<Method['evaluate']>[0]): Promise<PipelineReport>;
  close(): Promise<void>;
}

export async function pipelineFor(
  opts: MethodOptions & { config: Config | Record<string, unknown> },
): Promise<TestPipeline> {
  const { config, ...rest } = opts;
  const method = await createMethod(config, { log: () => {}, ...rest });
  return {
    method,
    run: (input, o) => method.tag(input, o) as Promise<Omit<TagResult, 'traces'> & { traces: ChunkTrace[] }>,
    extract: (input, o) => method.extract(input, o),
    evaluate: async (gold) => (await method.evaluate(gold)).details as PipelineReport,
    close: () => method.close(),
  };
}

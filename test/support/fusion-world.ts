/**
 * The world of the fusion CLI tests: a folder with a CRF trained on CoNLL-2003 (`crf.model`), the
 * test documents as `input.jsonl` (id and text) and `test.jsonl` (with gold entities), and a real
 * scripted OpenAI-compatible server answering with `chat`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NerDocument } from '../../src/core/types.js';
import { type CrfTagger, trainCrf } from '../../src/slm/tagger.js';
import { sharedDocs } from '../fusion/helpers.js';
import { type CliResult, el4nerAsync, jsonl, tmpDir } from './cli.js';
import { type ScriptedServer, type ScriptedServerOptions, startScriptedServer } from './scripted-server.js';

export interface FusionWorld {
  dir: string;
  crf: CrfTagger;
  srv: ScriptedServer;
  /** `el4ner <args>` in `dir`, in a child process (the scripted server of this process keeps answering). */
  el4ner(args: string[]): Promise<CliResult>;
  close(): Promise<void>;
}

export async function startFusionWorld(opts: {
  name: string;
  /** CoNLL-2003 training sentences of the CRF, and its L-BFGS iterations. */
  trainSentences: number;
  maxIterations: number;
  test: readonly NerDocument[];
  chat: ScriptedServerOptions['chat'];
}): Promise<FusionWorld> {
  const dir = tmpDir(`el4ner-${opts.name}-`);
  const crf = await trainCrf(sharedDocs('conll2003', 'train', opts.trainSentences), {
    maxIterations: opts.maxIterations,
  });
  await crf.save(join(dir, 'crf.model'));
  writeFileSync(join(dir, 'input.jsonl'), jsonl(opts.test.map((d) => ({ id: d.id, text: d.text }))));
  writeFileSync(
    join(dir, 'test.jsonl'),
    jsonl(opts.test.map((d) => ({ id: d.id, text: d.text, entities: d.entities }))),
  );
  const srv = await startScriptedServer({ chat: opts.chat });
  return {
    dir,
    crf,
    srv,
    el4ner: (args) => el4nerAsync(args, { cwd: dir, timeoutMs: 600_000 }),
    close: async () => {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

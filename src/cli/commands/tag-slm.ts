/** `el4ner tag-slm`: tags documents with a trained CRF model, writes JSONL with entities. */
import type { Command } from 'commander';
import { addInputOptions, type InputFlags, inputReadOptions } from '../input-options.js';

export function register(program: Command): void {
  const cmd = program
    .command('tag-slm')
    .description('tag documents with a CRF model from train-slm (entities with offsets and scores)')
    .requiredOption('--model <file>', 'model file written by train-slm')
    .requiredOption(
      '--input <file>',
      'documents (JSONL with text and optional tokens, CoNLL, ...; - = stdin)',
    )
    .option('--out <file>', 'output JSONL (default: stdout)')
    .option('--marginals', 'also write per-token tags and marginals under meta.slm');
  addInputOptions(cmd).action(
    async (o: InputFlags & { model: string; input: string; out?: string; marginals?: boolean }) => {
      const { createWriteStream } = await import('node:fs');
      const { readDocuments } = await import('../../formats/index.js');
      const { CrfTagger } = await import('../../slm/tagger.js');
      const { ModelFileError } = await import('../../slm/model-file.js');
      const { InputError } = await import('../../core/errors.js');
      const { prepareOutputFile } = await import('../../run/output-path.js');
      const toStdout = o.out === undefined || o.out === '-';
      if (!toStdout) prepareOutputFile(o.out!);
      let tagger: InstanceType<typeof CrfTagger>;
      try {
        tagger = await CrfTagger.load(o.model);
      } catch (err) {
        if (err instanceof ModelFileError) throw new InputError(err.message);
        throw err;
      }
      const docs = await readDocuments(o.input, inputReadOptions(o));
      const out = toStdout ? process.stdout : createWriteStream(o.out!);
      for (const doc of docs) {
        const pred = tagger.predict(doc);
        const row: Record<string, unknown> = { id: pred.id, text: pred.text, entities: pred.entities };
        if (o.marginals) {
          const { tags, marginals } = tagger.tagTokens((pred.tokens ?? []).map((t) => t.text));
          row.meta = {
            slm: {
              labels: tagger.labels,
              tokens: pred.tokens,
              tags,
              marginals: marginals.map((m) => Array.from(m, (p) => Math.round(p * 1e4) / 1e4)),
            },
          };
        }
        if (!out.write(`${JSON.stringify(row)}\n`))
          await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      if (out !== process.stdout)
        await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
    },
  );
}

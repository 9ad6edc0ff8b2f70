/** `el4ner tag-slm`: tags JSONL documents with a trained CRF model, writes JSONL with entities. */
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('tag-slm')
    .description('tag JSONL documents with a CRF model from train-slm (entities with offsets and scores)')
    .requiredOption('--model <file>', 'model file written by train-slm')
    .requiredOption('--input <file>', 'JSONL documents (text, optional tokens)')
    .option('--out <file>', 'output JSONL (default: stdout)')
    .option('--marginals', 'also write per-token tags and marginals under meta.slm')
    .action(async (o: { model: string; input: string; out?: string; marginals?: boolean }) => {
      const { createWriteStream } = await import('node:fs');
      const { readJsonlDocuments } = await import('../../slm/data.js');
      const { CrfTagger } = await import('../../slm/tagger.js');
      const { ModelFileError } = await import('../../slm/model-file.js');
      const { InputError } = await import('../../core/errors.js');
      let tagger: InstanceType<typeof CrfTagger>;
      try {
        tagger = await CrfTagger.load(o.model);
      } catch (err) {
        if (err instanceof ModelFileError) throw new InputError(err.message);
        throw err;
      }
      const docs = await readJsonlDocuments(o.input);
      const out = o.out ? createWriteStream(o.out) : process.stdout;
      // A closed pipe (`| head`) ends the output quietly.
      if (out === process.stdout)
        process.stdout.on('error', (e: NodeJS.ErrnoException) => e.code === 'EPIPE' && process.exit(0));
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
        out.write(`${JSON.stringify(row)}\n`);
      }
      if (out !== process.stdout)
        await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
    });
}

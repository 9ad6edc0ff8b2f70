/**
 * `el4ner tag-slm`: tags JSONL documents with a supervised tagger, writes JSONL with entities: a CRF
 * model file from train-slm, or an ONNX token classifier folder (model.onnx, config.json, tokenizer.json).
 */
import type { Command } from 'commander';

/** Documents tagged at once (an ONNX model batches them). */
const BLOCK = 64;

export function register(program: Command): void {
  program
    .command('tag-slm')
    .description(
      'tag JSONL documents with a CRF model from train-slm or an ONNX token classifier folder (entities with offsets and scores)',
    )
    .requiredOption('--model <path>', 'model file written by train-slm, or an ONNX token classifier folder')
    .requiredOption('--input <file>', 'JSONL documents (text, optional tokens)')
    .option('--out <file>', 'output JSONL (default: stdout)')
    .option('--marginals', 'also write per-token tags and marginals under meta.slm')
    .action(async (o: { model: string; input: string; out?: string; marginals?: boolean }) => {
      const { createWriteStream, existsSync, statSync } = await import('node:fs');
      const { readJsonlDocuments } = await import('../../slm/data.js');
      const { loadSlm } = await import('../../slm/load.js');
      const isFolder = existsSync(o.model) && statSync(o.model).isDirectory();
      const tagger = await loadSlm(isFolder ? { kind: 'onnx', path: o.model } : o.model, { key: '--model' });
      const docs = await readJsonlDocuments(o.input);
      const out = o.out ? createWriteStream(o.out) : process.stdout;
      // A closed pipe (`| head`) ends the output quietly.
      if (out === process.stdout)
        process.stdout.on('error', (e: NodeJS.ErrnoException) => e.code === 'EPIPE' && process.exit(0));
      for (let i = 0; i < docs.length; i += BLOCK) {
        const block = docs.slice(i, i + BLOCK);
        const preds = await Promise.all(block.map((d) => tagger.predict(d)));
        const taggings = o.marginals
          ? await Promise.all(preds.map((p) => tagger.tagTokens((p.tokens ?? []).map((t) => t.text))))
          : [];
        preds.forEach((pred, k) => {
          const row: Record<string, unknown> = { id: pred.id, text: pred.text, entities: pred.entities };
          if (o.marginals) {
            const { tags, marginals } = taggings[k];
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
        });
      }
      await tagger.close();
      if (out !== process.stdout)
        await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
    });
}

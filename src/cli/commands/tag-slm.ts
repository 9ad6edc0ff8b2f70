/**
 * `el4ner tag-slm`: tags documents with a supervised tagger, writes JSONL with entities: a CRF
 * model file from train-slm, or an ONNX token classifier folder (model.onnx, config.json, tokenizer.json).
 */
import type { Command } from 'commander';
import { addInputOptions, type InputFlags, inputReadOptions } from '../input-options.js';

/** Documents tagged at once (an ONNX model batches them). */
const BLOCK = 64;

export function register(program: Command): void {
  const cmd = program
    .command('tag-slm')
    .description(
      'tag documents with a CRF model from train-slm or an ONNX token classifier folder (entities with offsets and scores)',
    )
    .requiredOption('--model <path>', 'model file written by train-slm, or an ONNX token classifier folder')
    .requiredOption(
      '--input <file>',
      'documents (JSONL with text and optional tokens, CoNLL, ...; - = stdin)',
    )
    .option('--out <file>', 'output JSONL (default: stdout)')
    .option('--marginals', 'also write per-token tags and marginals under meta.slm');
  addInputOptions(cmd).action(
    async (o: InputFlags & { model: string; input: string; out?: string; marginals?: boolean }) => {
      const { createWriteStream, existsSync, statSync } = await import('node:fs');
      const { readDocuments } = await import('../../formats/index.js');
      const { attachDocumentContext } = await import('../../core/context.js');
      const { loadSlm } = await import('../../slm/load.js');
      const { tagLines } = await import('../../core/lines.js');
      const { prepareOutputFile } = await import('../../run/output-path.js');
      const toStdout = o.out === undefined || o.out === '-';
      if (!toStdout) prepareOutputFile(o.out!);
      const isFolder = existsSync(o.model) && statSync(o.model).isDirectory();
      const tagger = await loadSlm(isFolder ? { kind: 'onnx', path: o.model } : o.model, { key: '--model' });
      try {
        const read = await readDocuments(o.input, inputReadOptions(o));
        // Each document's context (the CRF's document features) comes from the whole input.
        const docs = tagger.readsContext ? attachDocumentContext(read) : read;
        const out = toStdout ? process.stdout : createWriteStream(o.out!);
        for (let i = 0; i < docs.length; i += BLOCK) {
          const block = docs.slice(i, i + BLOCK);
          const preds = await Promise.all(block.map((d) => tagger.predict(d)));
          const taggings = o.marginals
            ? await Promise.all(
                // Line by line, as predict reads the document, so the tags are those of the entities.
                preds.map((p, k) =>
                  tagLines((words) => tagger.tagTokens(words, block[k].context), p.text, p.tokens ?? []),
                ),
              )
            : [];
          for (const [k, pred] of preds.entries()) {
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
            if (!out.write(`${JSON.stringify(row)}\n`))
              await new Promise<void>((resolve) => out.once('drain', () => resolve()));
          }
        }
        if (out !== process.stdout)
          await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
      } finally {
        await tagger.close();
      }
    },
  );
}

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
      '--input <path>',
      'documents: JSONL with text and optional tokens, CoNLL, a text file, a folder of .txt files, ... (- = JSONL on stdin)',
    )
    .option('--out <file>', 'output JSONL (default: stdout)')
    .option('--marginals', 'also write per-token tags and marginals under meta.slm');
  addInputOptions(cmd).action(
    async (o: InputFlags & { model: string; input: string; out?: string; marginals?: boolean }) => {
      const { existsSync, statSync } = await import('node:fs');
      const { writeWholeFile } = await import('../../core/write-file.js');
      const { readDocuments } = await import('../../formats/index.js');
      const { attachDocumentContext } = await import('../../core/context.js');
      const { loadSlm } = await import('../../slm/load.js');
      const { tagLines } = await import('../../core/lines.js');
      const { prepareOutputFile } = await import('../../run/output-path.js');
      const toStdout = o.out === undefined || o.out === '-';
      if (!toStdout) prepareOutputFile(o.out!, 'output file', { '--input': o.input, '--model': o.model });
      const isFolder = existsSync(o.model) && statSync(o.model).isDirectory();
      const tagger = await loadSlm(isFolder ? { kind: 'onnx', path: o.model } : o.model, { key: '--model' });
      try {
        const read = await readDocuments(o.input, inputReadOptions(o));
        // Each document's context (the CRF's document features) comes from the whole input.
        const docs = tagger.readsContext ? attachDocumentContext(read) : read;
        // stdout is streamed; a file is written whole at the end (line by line: no giant string), so
        // a failure never leaves half of it
        const rows: string[] = [];
        const emit = async (line: string) => {
          if (!toStdout) rows.push(line);
          else if (!process.stdout.write(line))
            await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
        };
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
            await emit(`${JSON.stringify(row)}\n`);
          }
        }
        if (!toStdout) {
          await writeWholeFile(o.out!, rows);
          process.stderr.write(`el4ner: ${docs.length} document(s) written to ${o.out}\n`);
        }
      } finally {
        await tagger.close();
      }
    },
  );
}

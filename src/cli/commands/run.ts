import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { addMethodOptions, type MethodFlags } from '../method-options.js';

interface RunFlags extends MethodFlags {
  input: string;
  output: string;
  overwrite?: boolean;
}

export function register(program: Command): void {
  addMethodOptions(
    program
      .command('run')
      .description(
        'tag documents with the configured method (EL4NER ensemble, SLM+LLM fusion, or the CRF alone)',
      )
      .requiredOption(
        '--input <path>',
        'a text file, a folder of .txt files, or JSONL rows with "id" and "text"',
      )
      .requiredOption(
        '--output <file>',
        'JSONL output: one row per document with id, text and entities (with sources)',
      )
      .option('--overwrite', 'start the output file over instead of skipping the documents already in it'),
  ).action(async (flags: RunFlags) => {
    const [
      { loadConfig },
      { readDocuments },
      { createMethod },
      { methodSettings },
      { ResumableJsonlWriter },
      { createProgress },
    ] = await Promise.all([
      import('../../config/load.js'),
      import('../../formats/index.js'),
      import('../../assemble/index.js'),
      import('../method-options.js'),
      import('../../run/output.js'),
      import('../../run/progress.js'),
    ]);
    const config = loadConfig(flags.config);
    const settings = methodSettings(flags);
    const docs = await readDocuments(flags.input);
    const seen = new Set<string>();
    for (const d of docs) {
      if (seen.has(d.id)) throw new InputError(`document id "${d.id}" appears twice`, flags.input);
      seen.add(d.id);
    }
    const writer = ResumableJsonlWriter.open(flags.output, { resume: !flags.overwrite });
    const todo = docs.filter((d) => !writer.has(d.id));
    if (todo.length < docs.length)
      process.stderr.write(
        `el4ner: ${docs.length - todo.length} document(s) already in ${flags.output}, skipped\n`,
      );
    let method: Awaited<ReturnType<typeof createMethod>> | undefined;
    try {
      method = await createMethod(config, settings);
      const progress = await createProgress({
        total: docs.length,
        initial: docs.length - todo.length,
        label: 'documents',
      });
      await method.tag(todo, {
        onDocument: (doc) => {
          writer.write({
            id: doc.id,
            text: doc.text,
            entities: doc.entities,
            ...(doc.meta ? { meta: doc.meta } : {}),
            ...(doc.warnings ? { warnings: doc.warnings } : {}),
          });
          progress.tick();
        },
      });
      progress.stop();
      process.stderr.write(
        `el4ner: ${todo.length} document(s) written to ${flags.output}\n${method.formatCost()}\n`,
      );
    } finally {
      writer.close();
      await method?.close();
    }
  });
}

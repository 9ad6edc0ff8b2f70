import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { addPipelineOptions, type PipelineFlags } from '../../pipeline/cli-options.js';

interface RunFlags extends PipelineFlags {
  input: string;
  output: string;
  overwrite?: boolean;
}

export function register(program: Command): void {
  addPipelineOptions(
    program
      .command('run')
      .description(
        'tag documents with the EL4NER pipeline (retrieval, extraction, classification, verification)',
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
      { createRunner },
      { pipelineSettings },
      { ResumableJsonlWriter },
      { createProgress },
    ] = await Promise.all([
      import('../../config/load.js'),
      import('../../formats/index.js'),
      import('../../run/runner.js'),
      import('../../pipeline/cli-options.js'),
      import('../../run/output.js'),
      import('../../run/progress.js'),
    ]);
    const config = loadConfig(flags.config);
    const settings = pipelineSettings(flags);
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
    let runner: Awaited<ReturnType<typeof createRunner>> | undefined;
    try {
      runner = await createRunner(config, settings);
      const progress = await createProgress({
        total: docs.length,
        initial: docs.length - todo.length,
        label: 'documents',
      });
      await runner.extract(todo, {
        onDocument: (doc) => {
          writer.write({
            id: doc.id,
            text: doc.text,
            entities: doc.entities,
            ...(doc.meta ? { meta: doc.meta } : {}),
          });
          progress.tick();
        },
      });
      progress.stop();
      process.stderr.write(
        `el4ner: ${todo.length} document(s) written to ${flags.output}\n${runner.formatCost()}\n`,
      );
    } finally {
      writer.close();
      await runner?.close();
    }
  });
}

import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { addMethodOptions, type MethodFlags } from '../method-options.js';

interface RunFlags extends MethodFlags {
  input: string;
  output: string;
  overwrite?: boolean;
  retryDegraded?: boolean;
  preflight: boolean;
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
      .option('--overwrite', 'start the output file over instead of skipping the documents already in it')
      .option(
        '--retry-degraded',
        'on resume, run the degraded rows of the output again (see docs/operations.md)',
      )
      .option('--no-preflight', 'skip the start-up checks of every model and file of the config'),
  ).action(async (flags: RunFlags) => {
    const [
      { loadConfig },
      { readDocuments },
      { createMethod },
      { methodSettings },
      { ResumableJsonlWriter },
      { createProgress },
      degraded,
      { assertPreflight },
    ] = await Promise.all([
      import('../../config/load.js'),
      import('../../formats/index.js'),
      import('../../assemble/index.js'),
      import('../method-options.js'),
      import('../../run/output.js'),
      import('../../run/progress.js'),
      import('../../run/degraded.js'),
      import('../../assemble/preflight.js'),
    ]);
    const config = loadConfig(flags.config);
    const settings = methodSettings(flags);
    const docs = await readDocuments(flags.input);
    const seen = new Set<string>();
    for (const d of docs) {
      if (seen.has(d.id)) throw new InputError(`document id "${d.id}" appears twice`, flags.input);
      seen.add(d.id);
    }
    // degraded rows of an earlier run: run again (--retry-degraded) or kept and counted
    let kept = flags.overwrite ? degraded.noDegradedRows() : degraded.readDegradedRows(flags.output);
    if (flags.retryDegraded && kept.degraded.size > 0) {
      const n = degraded.dropRows(flags.output, kept.degraded);
      process.stderr.write(`el4ner: running the ${n} degraded row(s) of ${flags.output} again\n`);
      kept = degraded.noDegradedRows();
    }
    const writer = ResumableJsonlWriter.open(flags.output, { resume: !flags.overwrite });
    const todo = docs.filter((d) => !writer.has(d.id));
    if (todo.length < docs.length)
      process.stderr.write(
        `el4ner: ${docs.length - todo.length} document(s) already in ${flags.output}, skipped\n`,
      );
    let method: Awaited<ReturnType<typeof createMethod>> | undefined;
    const tally = new degraded.RunTally();
    let finished = false;
    try {
      if (flags.preflight) await assertPreflight(config);
      method = await createMethod(config, settings);
      const progress = await createProgress({
        total: docs.length,
        initial: docs.length - todo.length,
        label: 'documents',
      });
      await method.tag(todo, {
        unanswered: 'row',
        onDocument: (doc) => {
          writer.write(degraded.runRow(doc));
          tally.add(doc);
          progress.tick();
        },
      });
      progress.stop();
      finished = true;
      const outcome = degraded.runOutcome(tally, kept, flags.output);
      process.stderr.write(
        `el4ner: ${todo.length} document(s) written to ${flags.output}\n${method.formatCost()}\n${outcome.lines.map((l) => `el4ner: ${l}\n`).join('')}`,
      );
      process.exitCode = outcome.code;
    } finally {
      // the cost table of an aborted run too: what was spent, what failed
      if (!finished && method)
        process.stderr.write(
          `el4ner: stopped after ${tally.written} document(s) written to ${flags.output}\n${method.formatCost()}\n`,
        );
      writer.close();
      await method?.close();
    }
  });
}

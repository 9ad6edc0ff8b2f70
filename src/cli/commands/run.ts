import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { addSlmOption, type ConfigOrSlmFlags, configOrSlm } from '../config-or-slm.js';
import { addInputOptions, type InputFlags, inputReadOptions } from '../input-options.js';
import { addMethodOptions, type MethodFlags } from '../method-options.js';

interface RunFlags extends MethodFlags, InputFlags, ConfigOrSlmFlags {
  input: string;
  output: string;
  overwrite?: boolean;
  retryDegraded?: boolean;
  preflight: boolean;
}

export function register(program: Command): void {
  const cmd = addMethodOptions(
    program
      .command('run')
      .description(
        'tag documents with the EL4NER pipeline (retrieval, extraction, classification, verification), the fusion or the CRF alone',
      )
      .requiredOption(
        '--input <path>',
        'a text file, a folder of .txt files, JSONL rows with "id" and "text", ... ("-" = JSONL on stdin)',
      )
      .requiredOption(
        '--output <file>',
        'JSONL output: one row per document with id, text and entities ("-" = stdout)',
      )
      .option('--overwrite', 'start the output file over instead of resuming it')
      .option('--retry-degraded', 'on resume, run the degraded rows of the output again (docs/operations.md)')
      .option('--no-preflight', 'skip the start-up checks of every model and file of the config'),
  );
  addInputOptions(addSlmOption(cmd)).action(async (flags: RunFlags) => {
    const [
      { readDocuments },
      { createMethod },
      { methodSettings },
      { openRunOutput, outputRow },
      { runFingerprint },
      { createProgress },
      { onInterrupt },
      { RunTally, runOutcome },
      { assertPreflight },
      { attachDocumentContext },
    ] = await Promise.all([
      import('../../formats/index.js'),
      import('../../assemble/index.js'),
      import('../method-options.js'),
      import('../../run/run-output.js'),
      import('../../run/fingerprint.js'),
      import('../../run/progress.js'),
      import('../interrupt.js'),
      import('../../run/degraded.js'),
      import('../../assemble/preflight.js'),
      import('../../core/context.js'),
    ]);
    const config = await configOrSlm(flags);
    const settings = methodSettings(flags);
    // Each document's context comes from the whole input, so a resumed run sees what a full one does.
    const docs = attachDocumentContext(await readDocuments(flags.input, inputReadOptions(flags)));
    const seen = new Set<string>();
    for (const d of docs) {
      if (seen.has(d.id)) throw new InputError(`document id "${d.id}" appears twice`, flags.input);
      seen.add(d.id);
    }
    const output = await openRunOutput(flags.output, {
      overwrite: flags.overwrite,
      retryDegraded: flags.retryDegraded,
      fingerprint: runFingerprint(config, settings.stages, docs),
      version: program.version() ?? '?',
    });
    if (output.retried > 0)
      process.stderr.write(
        `el4ner: running the ${output.retried} degraded row(s) of ${output.target} again\n`,
      );
    const todo = docs.filter((d) => !output.has(d.id));
    if (todo.length < docs.length)
      process.stderr.write(
        `el4ner: ${docs.length - todo.length} document(s) already in ${flags.output}, skipped\n`,
      );
    let method: Awaited<ReturnType<typeof createMethod>> | undefined;
    let progress: Awaited<ReturnType<typeof createProgress>> | undefined;
    let stopping = false;
    let finished = false;
    const tally = new RunTally();
    const stopHandling = onInterrupt(async (signal) => {
      stopping = true;
      progress?.stop('stopped');
      await output.close();
      const done = output.kept + output.written;
      // before the first row nothing is created or changed (openRunOutput): there is nothing to resume
      const resume =
        output.resumable && done > 0
          ? `; run the same command again to resume (the ${done} finished document(s) are skipped)`
          : '';
      process.stderr.write(
        done === 0
          ? `\nel4ner: ${signal}: stopped before the first document was finished; nothing was written to ${output.target}\n`
          : `\nel4ner: ${signal}: stopped with ${output.written} document(s) written to ${output.target} (${done} of ${docs.length} done)${resume}\n`,
      );
    });
    try {
      if (flags.preflight) await assertPreflight(config);
      method = await createMethod(config, settings);
      progress = await createProgress({
        total: docs.length,
        initial: docs.length - todo.length,
        label: 'documents',
      });
      await method.tag(todo, {
        // a document no model answered is written as a degraded row with its error; the run goes on
        unanswered: 'row',
        onDocument: async (doc) => {
          if (stopping) return;
          await output.write(outputRow(doc));
          tally.add(doc);
          progress?.tick();
        },
      });
      progress.stop();
      await output.close({ finished: true });
      finished = true;
      const outcome = runOutcome(tally, output.keptDegraded, output.target);
      process.stderr.write(
        `el4ner: ${todo.length} document(s) written to ${output.target}\n${method.formatCost()}${outcome.lines.map((l) => `el4ner: ${l}\n`).join('')}`,
      );
      process.exitCode = outcome.code;
    } finally {
      // the cost table of a run stopped by an error too: what was spent, what failed
      if (!finished && !stopping && method)
        process.stderr.write(
          `el4ner: stopped after ${output.written} document(s) written to ${output.target}\n${method.formatCost()}`,
        );
      progress?.stop();
      stopHandling();
      // a failed close was already reported by the try block (or is behind its error)
      await output.close().catch(() => {});
      await method?.close();
    }
  });
}

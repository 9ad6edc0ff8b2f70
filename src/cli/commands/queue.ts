/** Scale-out over Redis with BullMQ: `el4ner enqueue`, `worker`, `status`, `collect`. */
import type { Command } from 'commander';
import type { CostSummary } from '../../engines/cost.js';
import { positiveInt } from '../args.js';
import { addInputOptions, inputReadOptions } from '../input-options.js';

const DEFAULT_REDIS = process.env.EL4NER_REDIS ?? 'redis://127.0.0.1:6379';

export function register(program: Command): void {
  const enqueue = program
    .command('enqueue')
    .description('put the documents of --input on the Redis queue as job --job, in batches of --batch')
    .option('--redis <url>', 'Redis URL (env EL4NER_REDIS)', DEFAULT_REDIS)
    .requiredOption('--input <path>', 'a text file, a folder of text files, or JSONL with id and text')
    .requiredOption('--job <name>', 'job name (letters, digits, _ . -)')
    .option('--queue <name>', 'BullMQ queue name shared by the workers', 'el4ner')
    .option(
      '--batch <n>',
      'documents per batch (the unit a worker takes, and redoes after a crash)',
      positiveInt,
      50,
    )
    .option('--attempts <n>', 'attempts per document before it is parked with its error', positiveInt, 3)
    .option(
      '--retry-parked',
      "move the job's parked documents back to pending, with fresh attempts, for the workers to tag again (same --input)",
    );
  addInputOptions(enqueue).action(async (opts) => {
    const { readDocuments } = await import('../../formats/index.js');
    const { enqueueDocuments } = await import('../../queue/enqueue.js');
    const docs = await readDocuments(opts.input, inputReadOptions(opts));
    const r = await enqueueDocuments(docs, {
      redis: opts.redis,
      job: opts.job,
      queue: opts.queue,
      batchSize: opts.batch,
      maxAttempts: opts.attempts,
      retryParked: opts.retryParked,
    });
    process.stderr.write(
      r.existed
        ? `el4ner: job "${r.job}" already holds this input (${r.documents} documents); nothing added twice\n`
        : `el4ner: enqueued ${r.documents} documents in ${r.batches} batches as job "${r.job}"\n`,
    );
    if (r.retried)
      process.stderr.write(
        `el4ner: moved ${r.retried.documents} parked document(s) of job "${r.job}" back to pending (${r.retried.batches} batch(es) queued again)\n`,
      );
  });

  program
    .command('worker')
    .description('process queued documents with the pipeline of a config (run any number, on any machines)')
    .option('--redis <url>', 'Redis URL (env EL4NER_REDIS)', DEFAULT_REDIS)
    .requiredOption('--config <file>', 'configuration (YAML or JSON)')
    .option('--queue <name>', 'BullMQ queue name', 'el4ner')
    .option(
      '--concurrency <n>',
      "documents processed at once by this worker (default: the config's concurrency)",
      positiveInt,
    )
    .option(
      '--lock-ms <n>',
      "a killed worker's batch goes to another worker after about this long",
      positiveInt,
      30000,
    )
    .option('--idle-exit <seconds>', 'exit after the queue has been empty this long', positiveInt)
    .option('--no-cache', 'do not use the response cache')
    .option('--cache <path>', 'response cache file')
    .option('--no-preflight', 'skip the start-up checks of every model and file of the config')
    .action(async (opts) => {
      if (opts.preflight) {
        const [{ loadConfig }, { assertPreflight }] = await Promise.all([
          import('../../config/load.js'),
          import('../../assemble/preflight.js'),
        ]);
        await assertPreflight(loadConfig(opts.config));
      }
      const { processorFromConfig } = await import('../../queue/processor.js');
      const { runWorker } = await import('../../queue/worker.js');
      // before loading models: a Redis that is down is one line, not a worker waiting for ever
      await (await import('../../queue/connection.js')).checkRedis(opts.redis);
      const processor = await processorFromConfig(opts.config, {
        noCache: !opts.cache,
        cachePath: typeof opts.cache === 'string' ? opts.cache : undefined,
      });
      const log = (line: string) => process.stderr.write(`el4ner worker: ${line}\n`);
      const w = await runWorker({
        redis: opts.redis,
        queue: opts.queue,
        processor,
        concurrency: opts.concurrency ?? processor.concurrency,
        lockMs: opts.lockMs,
        idleExitMs: opts.idleExit ? opts.idleExit * 1000 : undefined,
        log,
      });
      log(`started as ${w.stats.workerId} on queue "${opts.queue}"`);
      const stop = () => {
        log('stopping after the current batch');
        void w.close();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await w.done;
      log(
        `done: ${w.stats.documents} documents, ${w.stats.failures} failures, ${w.stats.parked} parked${w.stats.deferred ? `, ${w.stats.deferred} put off while the models' circuit breakers were open` : ''}`,
      );
      if (w.stats.refused) {
        const { JobMismatchError } = await import('../../queue/errors.js');
        throw new JobMismatchError(w.stats.refused);
      }
      const lost = Object.entries(w.stats.lost);
      if (lost.length || !w.stats.verified) {
        const { QueueError, DURABILITY_HINT } = await import('../../queue/errors.js');
        throw new QueueError(
          lost.length
            ? `Redis lost ${lost.map(([job, n]) => `${n} finished document(s) of job "${job}"`).join(', ')}. ${DURABILITY_HINT}`
            : `Redis was unreachable at exit: cannot confirm that the ${w.stats.documents} document(s) this worker finished are stored; a batch it had not finished goes to another worker after --lock-ms once Redis is back (check with el4ner status)`,
        );
      }
    });

  program
    .command('status')
    .description('progress of a queued job: done, parked, waiting, rate')
    .option('--redis <url>', 'Redis URL (env EL4NER_REDIS)', DEFAULT_REDIS)
    .requiredOption('--job <name>', 'job name')
    .option('--queue <name>', 'BullMQ queue name', 'el4ner')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      const { jobStatus } = await import('../../queue/status.js');
      const { formatDuration } = await import('../../run/progress.js');
      const s = await jobStatus(opts.redis, opts.job, opts.queue);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      const b = s.batches;
      process.stdout.write(
        [
          `job ${s.job}: ${s.done}/${s.total} done, ${s.parked} parked, ${s.remaining} remaining`,
          `batches (whole queue): ${b.waiting ?? 0} waiting, ${b.active ?? 0} active, ${b.delayed ?? 0} retrying, ${b.failed ?? 0} failed`,
          `rate ${s.rate.toFixed(1)} documents/s, ETA ${s.etaSeconds === null ? '?' : formatDuration(s.etaSeconds)}`,
          `workers reporting: ${Object.keys(s.workers).length}`,
        ].join('\n') + '\n',
      );
    });

  program
    .command('collect')
    .description('write the results of a job in input order, each document exactly once')
    .option('--redis <url>', 'Redis URL (env EL4NER_REDIS)', DEFAULT_REDIS)
    .requiredOption('--job <name>', 'job name')
    .requiredOption('--output <file>', "output JSONL ('-' for stdout)")
    .option('--partial', 'write what is finished even if the job is not done')
    .action(async (opts) => {
      const { collectJob } = await import('../../queue/collect.js');
      const { jobStatus } = await import('../../queue/status.js');
      (await import('../../run/output-path.js')).prepareOutputFile(opts.output);
      const r = await collectJob(opts.redis, opts.job, opts.output, { partial: opts.partial });
      process.stderr.write(
        `el4ner: wrote ${r.written} documents to ${opts.output === '-' ? 'stdout' : opts.output} (${r.parked} parked with errors, ${r.missing} missing)\n`,
      );
      const s = await jobStatus(opts.redis, opts.job);
      const { CostLedger } = await import('../../engines/cost.js');
      const all = new CostLedger();
      for (const summary of Object.values(s.workers)) all.merge(summary as CostSummary);
      const n = Object.keys(s.workers).length;
      // workers of a config without LLMs (the CRF alone) asked no model: no table, as in `run`
      const table = all.formatIfAsked();
      if (n && table) process.stderr.write(`el4ner: cost over ${n} worker(s)\n${table}`);
    });
}

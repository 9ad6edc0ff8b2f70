/**
 * `el4ner index`: builds (or refreshes) the demonstration-pool index of the span-level retriever
 * (src/retrieval). Without an embedding model in the config, spans are embedded by the offline
 * lexical character n-gram embedder.
 */
import type { Command } from 'commander';
import { ConfigError, InputError } from '../../core/errors.js';
import { ENCODING_FLAG, encodingHelp, inputReadOptions } from '../input-options.js';

interface IndexFlags {
  precision?: string;
  approximate?: boolean;
  sentenceVectors?: boolean;
  config?: string;
  pool?: string;
  out: string;
  spans?: string;
  weights?: string;
  posOf?: string;
  dim?: string;
  force?: boolean;
  json?: boolean;
  encoding?: string;
}

export function register(program: Command): void {
  program
    .command('index')
    .description(
      'build the demonstration-pool index for span-level retrieval (reused while pool and settings are unchanged)',
    )
    .option(
      '--config <file>',
      'config (YAML/JSON): embedding model, backbones for --spans llm, retrieval defaults',
    )
    .option('--pool <file>', 'labelled pool file (JSONL, CoNLL, spaCy); default: `pool` from the config')
    .option(ENCODING_FLAG, encodingHelp('encoding of the pool file'))
    .requiredOption('--out <dir>', 'index folder to write')
    .option(
      '--spans <mode>',
      'pool spans: gold (the pool entities) | llm (zero-shot pre-extraction by the backbones)',
    )
    .option(
      '--weights <scheme>',
      'POS weights: default (PROPN 4, NOUN 2, PRON 1) | paper-rank (PROPN 1, NOUN 2, PRON 4) | uniform',
    )
    .option('--pos-of <mode>', "which word gives a span's POS: first | head")
    .option('--dim <n>', 'dimension of the lexical embedder (default 1024)')
    .option('--precision <p>', 'dense vectors (an embedding model): f32 | int8 (4x smaller)')
    .option(
      '--approximate',
      'also build an approximate (HNSW) index of dense span vectors (optional package usearch)',
    )
    .option('--no-sentence-vectors', 'skip whole-sentence vectors (no sentence-embedding mode; saves memory)')
    .option('--force', 'rebuild even when the index is up to date')
    .option('--json', 'print the summary as JSON')
    .action(async (flags: IndexFlags) => {
      const t0 = performance.now();
      const { encoding } = inputReadOptions({ encoding: flags.encoding });
      const { isWeightPresetName } = await import('../../pos/weights.js');
      const { loadConfig, parseConfig } = await import('../../config/load.js');
      const { buildPoolIndex } = await import('../../assemble/demos.js');
      const base = flags.config ? loadConfig(flags.config) : parseConfig({});
      const pool = flags.pool ?? base.pool;
      if (!pool) throw new InputError('no pool: give --pool or set `pool` in the config');
      const { existsSync, statSync } = await import('node:fs');
      if (!existsSync(pool)) throw new InputError('no such file', pool);
      if (statSync(pool).isDirectory())
        throw new InputError('the pool must be a file (JSONL, CoNLL, spaCy), not a folder', pool);
      const spans = flags.spans ?? base.retrieval.poolSpans;
      if (spans !== 'gold' && spans !== 'llm')
        throw new InputError(`--spans must be gold or llm, got ${JSON.stringify(spans)}`);
      if (spans === 'llm' && !flags.config)
        throw new ConfigError('--spans llm needs --config with the backbone models');
      const weights = flags.weights ?? base.retrieval.weights ?? 'default';
      if (typeof weights === 'string' && !isWeightPresetName(weights))
        throw new InputError(
          `--weights must be default, paper-rank or uniform, got ${JSON.stringify(weights)}`,
        );
      if (flags.precision !== undefined && flags.precision !== 'f32' && flags.precision !== 'int8')
        throw new InputError(`--precision must be f32 or int8, got ${JSON.stringify(flags.precision)}`);
      const posOf = flags.posOf ?? base.retrieval.posOf ?? 'first';
      if (posOf !== 'first' && posOf !== 'head')
        throw new InputError(`--pos-of must be first or head, got ${JSON.stringify(posOf)}`);
      let dim: number | undefined;
      if (flags.dim !== undefined) {
        if (!/^\d+$/.test(flags.dim) || Number(flags.dim) < 8)
          throw new InputError(`--dim must be an integer >= 8, got ${JSON.stringify(flags.dim)}`);
        dim = Number(flags.dim);
      }
      if (flags.approximate && !base.embedding)
        throw new ConfigError(
          '--approximate is for the dense vectors of an embedding model (embedding.model in --config); the lexical embedder gives sparse ones, whose exact posting lists are faster',
        );
      // after the flags are checked: a typo in one leaves no empty folder behind
      (await import('../../run/output-path.js')).prepareOutputFolder(flags.out, 'index folder');
      const index = base.retrieval.index;
      // The command line's settings on top of the config's: the index is built as every method builds it.
      const config = {
        ...base,
        pool,
        retrieval: {
          ...base.retrieval,
          poolSpans: spans as 'gold' | 'llm',
          weights,
          posOf: posOf as 'first' | 'head',
          index: {
            precision: (flags.precision ?? index?.precision ?? 'f32') as 'f32' | 'int8',
            approximate: flags.approximate ?? index?.approximate ?? false,
            sentenceVectors: flags.sentenceVectors === false ? false : (index?.sentenceVectors ?? true),
          },
        },
      };
      // Progress on stderr as `run` shows it: a line redrawn on a terminal; else (logs, CI) a line
      // every 10 s (EL4NER_PROGRESS_INTERVAL) and one at the end of each stage.
      const { progressIntervalS, progressLine } = await import('../../run/progress.js');
      const tty = process.stderr.isTTY === true;
      const intervalMs = tty ? 100 : progressIntervalS() * 1000;
      let lastStage = '';
      let stageStart = 0;
      let lastShown = 0;
      const res = await buildPoolIndex(config, {
        pool,
        out: flags.out,
        dim,
        force: flags.force,
        encoding,
        onProgress: (stage, done, total) => {
          if (flags.json) return;
          const now = Date.now();
          if (stage !== lastStage) {
            if (lastStage && tty) process.stderr.write('\n');
            lastStage = stage;
            stageStart = lastShown = now;
          }
          if (done < total && now - lastShown < intervalMs) return;
          lastShown = now;
          const line = progressLine(stage, done, total, Math.max(1, now - stageStart));
          process.stderr.write(tty ? `\r${line}` : `${line}\n`);
        },
      });
      if (lastStage && tty) process.stderr.write('\n');
      const m = res.index.manifest;
      const withSpans = new Set(res.index.spanSentence).size;
      const summary = {
        out: flags.out,
        pool,
        status: res.rebuilt ? 'built' : 'up to date',
        reason: res.reason,
        sentences: m.sentences,
        sentencesWithSpans: withSpans,
        spans: m.spans,
        dim: m.dim,
        embedder: res.embedder,
        embedderIdentity: m.settings.embedder,
        spansMode: m.settings.spans,
        weights: m.settings.weights,
        posOf: m.settings.posOf,
        failedPreExtractCalls: res.preExtractFailures
          ? Object.fromEntries(res.preExtractFailures.list().map((f) => [f.model, f.count]))
          : undefined,
        seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
      };
      if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        const w = m.settings.weights;
        process.stdout.write(
          `${res.rebuilt ? `built (${res.reason})` : 'up to date'}: ${flags.out}\n` +
            `  sentences ${m.sentences} (${withSpans} with spans), spans ${m.spans}, dim ${m.dim}\n` +
            `  embedder ${res.embedder} [${m.settings.embedder}], spans ${m.settings.spans}, ` +
            `weights PROPN=${w.PROPN} NOUN=${w.NOUN} PRON=${w.PRON} other=${w.other}, pos-of ${m.settings.posOf}\n` +
            `  ${summary.seconds.toFixed(2)} s\n`,
        );
        for (const line of res.preExtractFailures?.lines() ?? [])
          process.stderr.write(`el4ner: warning: pre-extraction: ${line}\n`);
      }
    });
}

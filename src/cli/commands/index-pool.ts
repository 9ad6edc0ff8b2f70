/**
 * `el4ner index`: builds (or refreshes) the demonstration-pool index of the span-level retriever
 * (src/retrieval). Without an embedding model in the config, spans are embedded by the offline
 * lexical character n-gram embedder.
 */
import type { Command } from 'commander';
import { ConfigError, InputError } from '../../core/errors.js';

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
      const { rm } = await import('node:fs/promises');
      const { isWeightPresetName } = await import('../../pos/weights.js');
      const r = await import('../../retrieval/public.js');
      const { createLlmPreExtractor } = await import('../../el4ner/stages/retrieve.js');
      const { backbonesOf, requireEngine } = await import('../../assemble/engines.js');
      const { poolLabels } = await import('../../assemble/demos.js');

      type Config = import('../../config/schema.js').Config;
      let config: Config | undefined;
      if (flags.config) config = (await import('../../config/load.js')).loadConfig(flags.config);

      const pool = flags.pool ?? config?.pool;
      if (!pool) throw new InputError('no pool: give --pool or set `pool` in the config');
      (await import('../../run/output-path.js')).prepareOutputFolder(flags.out, 'index folder');
      const { existsSync, statSync } = await import('node:fs');
      if (!existsSync(pool)) throw new InputError('no such file', pool);
      if (statSync(pool).isDirectory())
        throw new InputError('the pool must be a file (JSONL, CoNLL, spaCy), not a folder', pool);
      const spans = (flags.spans ?? config?.retrieval.poolSpans ?? 'gold') as string;
      if (spans !== 'gold' && spans !== 'llm')
        throw new InputError(`--spans must be gold or llm, got ${JSON.stringify(spans)}`);
      const weights = flags.weights ?? config?.retrieval.weights ?? 'default';
      if (typeof weights === 'string' && !isWeightPresetName(weights)) {
        throw new InputError(
          `--weights must be default, paper-rank or uniform, got ${JSON.stringify(weights)}`,
        );
      }
      if (flags.precision !== undefined && flags.precision !== 'f32' && flags.precision !== 'int8')
        throw new InputError(`--precision must be f32 or int8, got ${JSON.stringify(flags.precision)}`);
      const posOf = flags.posOf ?? config?.retrieval.posOf ?? 'first';
      if (posOf !== 'first' && posOf !== 'head')
        throw new InputError(`--pos-of must be first or head, got ${JSON.stringify(posOf)}`);
      let dim: number | undefined;
      if (flags.dim !== undefined) {
        if (!/^\d+$/.test(flags.dim) || Number(flags.dim) < 8)
          throw new InputError('--dim must be an integer >= 8');
        dim = Number(flags.dim);
      }

      const needEngines = config !== undefined && (config.embedding !== undefined || spans === 'llm');
      if (spans === 'llm' && !config)
        throw new ConfigError('--spans llm needs --config with the backbone models');
      const engineSet = needEngines
        ? await (await import('../../engines/registry.js')).createEngines(config!)
        : undefined;
      try {
        let embedder: import('../../retrieval/embedders.js').SpanEmbedder;
        let embedderName = 'lexical';
        if (config?.embedding) {
          const e = engineSet!.engines.get(config.embedding.model)!;
          embedder = new r.EngineEmbedder(e);
          embedderName = config.embedding.model;
          if (dim !== undefined) throw new InputError('--dim applies to the lexical embedder only');
        } else embedder = new r.LexicalEmbedder({ dim });

        let preExtract: ReturnType<typeof createLlmPreExtractor> | undefined;
        if (spans === 'llm') {
          const cfg = config!;
          const names = backbonesOf(cfg, engineSet!.engines.keys());
          const labels = cfg.labels ?? poolLabels((await r.readPoolFile(pool)).docs);
          preExtract = createLlmPreExtractor(
            names.map((n) => requireEngine(engineSet!.engines, n, 'backbones')),
            labels,
            cfg.labelDescriptions,
          );
        }

        if (flags.force) await rm(`${flags.out}/manifest.json`, { force: true });
        const { readDocuments } = await import('../../formats/index.js');
        let lastStage = '';
        const res = await r.buildOrLoadIndex(
          { poolFile: pool },
          flags.out,
          {
            embedder,
            spans,
            preExtract,
            preExtractIdentity: preExtract?.identity,
            weights,
            posOf,
            precision: (flags.precision ?? config?.retrieval.index?.precision ?? 'f32') as 'f32' | 'int8',
            approximate: flags.approximate ?? config?.retrieval.index?.approximate ?? false,
            sentenceVectors:
              flags.sentenceVectors === false ? false : (config?.retrieval.index?.sentenceVectors ?? true),
            onProgress: (stage, done, total) => {
              if (flags.json || !process.stderr.isTTY) return;
              if (stage !== lastStage && lastStage) process.stderr.write('\n');
              lastStage = stage;
              process.stderr.write(`\r${stage}: ${done}/${total}`);
            },
          },
          (p) => readDocuments(p),
          { lazySentences: true },
        );
        if (lastStage) process.stderr.write('\n');
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
          embedder: embedderName,
          embedderIdentity: m.settings.embedder,
          spansMode: m.settings.spans,
          weights: m.settings.weights,
          posOf: m.settings.posOf,
          failedPreExtractCalls: preExtract
            ? Object.fromEntries(preExtract.failures.list().map((f) => [f.model, f.count]))
            : undefined,
          seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
        };
        if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else {
          const w = m.settings.weights;
          process.stdout.write(
            `${res.rebuilt ? `built (${res.reason})` : 'up to date'}: ${flags.out}\n` +
              `  sentences ${m.sentences} (${withSpans} with spans), spans ${m.spans}, dim ${m.dim}\n` +
              `  embedder ${embedderName} [${m.settings.embedder}], spans ${m.settings.spans}, ` +
              `weights PROPN=${w.PROPN} NOUN=${w.NOUN} PRON=${w.PRON} other=${w.other}, pos-of ${m.settings.posOf}\n` +
              `  ${summary.seconds.toFixed(2)} s\n`,
          );
          for (const line of preExtract?.failures.lines() ?? [])
            process.stderr.write(`el4ner: warning: pre-extraction: ${line}\n`);
        }
      } finally {
        await engineSet?.close();
      }
    });
}

/**
 * A fine-tuned transformer token classifier (BERT, RoBERTa, DeBERTa, ... exported to ONNX by
 * Hugging Face Optimum) as the supervised small tagger, run by onnxruntime-node on the CPU (or
 * CUDA when that provider is installed). The folder holds `model.onnx` (or `onnx/model.onnx`),
 * `config.json` (id2label) and `tokenizer.json` (`tokenizer_config.json` is read when present).
 *
 * Calls made together (the same tick: the fusion pipeline's concurrent documents, a runner's
 * block of documents) are tagged together: their windows are sorted by length and run in
 * batches of `batchSize`, so padding stays small.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { lineRanges } from '../../core/lines.js';
import type { NerDocument, TagScheme, Token } from '../../core/types.js';
import type { SlmTagging } from '../../fusion/slm.js';
import { documentTokens } from '../data.js';
import { entitiesFromTagging } from '../entities.js';
import type { TokenMarginals } from '../tagger.js';
import { argmax, softmax, type WordPieces, wordDistributions, wordPieces } from './align.js';
import { ModelFolderError, SlmOptionError } from './errors.js';
import { readClassifierConfig } from './model-config.js';
import { readSubwordTokenizer, type SubwordTokenizer } from './subwords.js';
import { ownerWindows, planWindows, type Window } from './windows.js';

export const ONNX_SLM_NAME = 'onnx';

export interface OnnxTaggerOptions {
  /** Tokens per window, special tokens included. Default: the model's limit (config.json / tokenizer_config.json), else 512. */
  maxLength?: number;
  /** Tokens shared by consecutive windows of a long input. Default: a quarter of a window. */
  stride?: number;
  /** Windows per onnxruntime call. Default 16. */
  batchSize?: number;
  /** onnxruntime intra-op threads. Default: onnxruntime's (one per core). */
  threads?: number;
  /** 'cuda' needs onnxruntime-node's CUDA provider (installed with ONNXRUNTIME_NODE_INSTALL=cuda12). */
  device?: 'cpu' | 'cuda';
}

export interface OnnxTaggerStats {
  sentences: number;
  windows: number;
  batches: number;
  /** Subword tokens fed, special tokens included, and how many of the fed positions were padding. */
  tokens: number;
  padding: number;
}

type IntArray = BigInt64Array | Int32Array;
type OrtModule = typeof import('onnxruntime-node');

interface Job {
  pieces: WordPieces;
  words: readonly string[];
  windows: Window[];
  /** Per window, per position: the softmax over labels. */
  probs: Float64Array[][];
  resolve: (t: SlmTagging) => void;
  reject: (e: unknown) => void;
}

const FEEDS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

async function loadOrt(): Promise<OrtModule> {
  try {
    return await import('onnxruntime-node');
  } catch (e) {
    throw new Error(
      `onnxruntime-node is not installed or does not load (${(e as Error).message}); it is an optional package, needed only for an ONNX SLM: install it with ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`,
    );
  }
}

export class OnnxTagger {
  readonly kind = 'onnx' as const;
  readonly name = ONNX_SLM_NAME;
  readonly labels: string[];
  readonly scheme: TagScheme;
  readonly maxLength: number;
  readonly stride: number;
  readonly batchSize: number;
  readonly stats: OnnxTaggerStats = { sentences: 0, windows: 0, batches: 0, tokens: 0, padding: 0 };
  private readonly queue: Job[] = [];
  private draining = false;
  /** Subword tokens of a window besides the specials. */
  private readonly capacity: number;

  private constructor(
    readonly path: string,
    private readonly ort: OrtModule,
    private readonly session: InferenceSession,
    readonly tokenizer: SubwordTokenizer,
    init: { labels: string[]; scheme: TagScheme; maxLength: number; stride: number; batchSize: number },
    private readonly inputTypes: Map<string, 'int64' | 'int32'>,
    private readonly output: string,
  ) {
    this.labels = init.labels;
    this.scheme = init.scheme;
    this.maxLength = init.maxLength;
    this.stride = init.stride;
    this.batchSize = init.batchSize;
    this.capacity = init.maxLength - tokenizer.prefix.length - tokenizer.suffix.length;
  }

  /** Loads a model folder; errors name the file and key (ModelFolderError) or the option (SlmOptionError). */
  static async load(dir: string, options: OnnxTaggerOptions = {}): Promise<OnnxTagger> {
    if (!existsSync(dir)) throw new ModelFolderError(dir, undefined, 'no such folder');
    if (!statSync(dir).isDirectory())
      throw new ModelFolderError(
        dir,
        undefined,
        'is a file: an ONNX token classifier is a folder (model.onnx, config.json, tokenizer.json)',
      );
    // Optimum writes model.onnx beside config.json; Transformers.js repositories keep it in onnx/.
    const modelFile = [join(dir, 'model.onnx'), join(dir, 'onnx', 'model.onnx')].find((f) => existsSync(f));
    if (!modelFile)
      throw new ModelFolderError(
        join(dir, 'model.onnx'),
        undefined,
        'not found (export one with optimum-cli export onnx --task token-classification)',
      );
    const config = readClassifierConfig(join(dir, 'config.json'), join(dir, 'tokenizer_config.json'));
    const tokenizer = readSubwordTokenizer(
      join(dir, 'tokenizer.json'),
      join(dir, 'tokenizer_config.json'),
      config.padTokenId,
    );

    const specials = tokenizer.prefix.length + tokenizer.suffix.length;
    const limit = config.maxLength ?? 512;
    const maxLength = options.maxLength ?? limit;
    if (maxLength > limit)
      throw new SlmOptionError(
        'maxLength',
        `${maxLength} is more than the ${limit} tokens the model accepts (config.json / tokenizer_config.json)`,
      );
    if (maxLength <= specials)
      throw new SlmOptionError(
        'maxLength',
        `${maxLength} leaves no room beside the ${specials} special tokens`,
      );
    const capacity = maxLength - specials;
    const stride = options.stride ?? Math.floor(capacity / 4);
    if (stride >= capacity)
      throw new SlmOptionError(
        'stride',
        `${stride} must be less than the ${capacity} subword tokens of a window`,
      );
    const batchSize = options.batchSize ?? 16;

    const ort = await loadOrt();
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelFile, {
        executionProviders: options.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
        graphOptimizationLevel: 'all',
        ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
      });
    } catch (e) {
      const msg = (e as Error).message;
      if (options.device === 'cuda')
        throw new SlmOptionError(
          'device',
          `cuda: onnxruntime cannot start the CUDA provider (${msg}); reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with CUDA 12, or use device: cpu`,
        );
      throw new ModelFolderError(modelFile, undefined, `onnxruntime cannot load it: ${msg}`);
    }
    const inputTypes = new Map<string, 'int64' | 'int32'>();
    for (const m of session.inputMetadata) {
      if (!(FEEDS as readonly string[]).includes(m.name))
        throw new ModelFolderError(
          modelFile,
          `input ${m.name}`,
          `is not one this tagger feeds (${FEEDS.join(', ')}): is this a token-classification export?`,
        );
      const type = m.isTensor ? m.type : undefined;
      if (type !== 'int64' && type !== 'int32')
        throw new ModelFolderError(modelFile, `input ${m.name}`, `has type ${type}, expected int64 or int32`);
      inputTypes.set(m.name, type);
    }
    if (!inputTypes.has('input_ids')) throw new ModelFolderError(modelFile, 'inputs', 'no input_ids input');
    const output = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0];
    const tagger = new OnnxTagger(
      dir,
      ort,
      session,
      tokenizer,
      { labels: config.labels, scheme: config.scheme, maxLength, stride, batchSize },
      inputTypes,
      output,
    );
    await tagger.probe(modelFile);
    return tagger;
  }

  /** One tiny input: the output must be [batch, sequence, labels] with one score per id2label entry. */
  private async probe(modelFile: string): Promise<void> {
    const ids = [...this.tokenizer.prefix, ...this.tokenizer.encodeWord('a'), ...this.tokenizer.suffix];
    let out: Tensor;
    try {
      out = (await this.session.run(this.feeds([ids], ids.length)))[this.output];
    } catch (e) {
      throw new ModelFolderError(modelFile, undefined, `onnxruntime cannot run it: ${(e as Error).message}`);
    }
    const dims = out.dims;
    if (dims.length !== 3 || dims[1] !== ids.length)
      throw new ModelFolderError(
        modelFile,
        `output ${this.output}`,
        `has shape [${dims.join(', ')}] for a [1, ${ids.length}] input: not a token classifier's [batch, sequence, labels]`,
      );
    if (dims[2] !== this.labels.length)
      throw new ModelFolderError(
        join(this.path, 'config.json'),
        'id2label',
        `has ${this.labels.length} labels but model.onnx gives ${dims[2]} scores per token: wrong label map for this model`,
      );
  }

  private feeds(rows: readonly (readonly number[])[], width: number): Record<string, Tensor> {
    const { Tensor } = this.ort;
    const make = (type: 'int64' | 'int32', fill: (row: number, col: number) => number) => {
      const data: IntArray =
        type === 'int64' ? new BigInt64Array(rows.length * width) : new Int32Array(rows.length * width);
      for (let r = 0; r < rows.length; r++)
        for (let c = 0; c < width; c++) {
          const v = fill(r, c);
          if (data instanceof BigInt64Array) data[r * width + c] = BigInt(v);
          else data[r * width + c] = v;
        }
      return new Tensor(type, data, [rows.length, width]);
    };
    const out: Record<string, Tensor> = {};
    for (const [name, type] of this.inputTypes) {
      if (name === 'input_ids') out[name] = make(type, (r, c) => rows[r][c] ?? this.tokenizer.padId);
      else if (name === 'attention_mask') out[name] = make(type, (r, c) => (c < rows[r].length ? 1 : 0));
      else out[name] = make(type, () => 0);
    }
    return out;
  }

  /** Tags and per-word distributions over `labels` (each sums to 1). */
  tagTokens(words: readonly string[]): Promise<SlmTagging> {
    if (words.length === 0) return Promise.resolve({ tags: [], marginals: [] });
    let pieces: WordPieces;
    try {
      pieces = wordPieces(words, (w) => this.tokenizer.encodeWord(w));
    } catch (e) {
      return Promise.reject(e);
    }
    if (pieces.ids.length === 0) {
      const job = { pieces, words, windows: [], probs: [], resolve: () => {}, reject: () => {} };
      return Promise.resolve(this.finish(job));
    }
    const windows = planWindows(pieces.ids.length, this.capacity, this.stride);
    return new Promise((resolve, reject) => {
      this.queue.push({ pieces, words, windows, probs: new Array(windows.length), resolve, reject });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  async tokenMarginals(words: readonly string[]): Promise<TokenMarginals> {
    return { labels: this.labels, probs: (await this.tagTokens(words)).marginals };
  }

  /** Entities with character offsets; tokens from doc.tokens, else from tokenize(text) (CJK: one per character). */
  async predict(doc: { id: string; text: string; tokens?: Token[] }): Promise<NerDocument> {
    const tokens = documentTokens(doc);
    const lines = lineRanges(doc.text, tokens).map(({ start, end }) => tokens.slice(start, end));
    const taggings = await Promise.all(lines.map((line) => this.tagTokens(line.map((t) => t.text))));
    const entities = lines.flatMap((line, i) =>
      entitiesFromTagging(doc.text, line, taggings[i], this.labels, this.name),
    );
    return { id: doc.id, text: doc.text, tokens, entities };
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const jobs = this.queue.splice(0);
        try {
          await this.run(jobs);
        } catch (e) {
          for (const j of jobs) j.reject(e);
          continue;
        }
        for (const j of jobs) {
          try {
            j.resolve(this.finish(j));
          } catch (e) {
            j.reject(e);
          }
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Every window of every job, longest first, in batches. */
  private async run(jobs: Job[]): Promise<void> {
    const { prefix, suffix } = this.tokenizer;
    const all = jobs.flatMap((job) => job.windows.map((w, k) => ({ job, k, w })));
    all.sort((a, b) => b.w.end - b.w.start - (a.w.end - a.w.start));
    const L = this.labels.length;
    for (let i = 0; i < all.length; i += this.batchSize) {
      const batch = all.slice(i, i + this.batchSize);
      const rows = batch.map(({ job, w }) => [...prefix, ...job.pieces.ids.slice(w.start, w.end), ...suffix]);
      const width = rows[0].length;
      const out = (await this.session.run(this.feeds(rows, width)))[this.output];
      const logits = out.data as Float32Array;
      batch.forEach(({ job, k, w }, r) => {
        const probs: Float64Array[] = new Array(w.end - w.start);
        for (let p = 0; p < probs.length; p++)
          probs[p] = softmax(logits, (r * width + prefix.length + p) * L, L);
        job.probs[k] = probs;
      });
      this.stats.batches++;
      this.stats.windows += batch.length;
      this.stats.tokens += rows.reduce((a, r) => a + r.length, 0);
      this.stats.padding += rows.reduce((a, r) => a + width - r.length, 0);
    }
    this.stats.sentences += jobs.length;
  }

  private finish(job: Job): SlmTagging {
    const owner = ownerWindows(job.pieces.ids.length, job.windows);
    const piece = (p: number) => job.probs[owner[p]][p - job.windows[owner[p]].start];
    const marginals = wordDistributions(job.words, job.pieces, piece, this.labels, this.scheme);
    return { tags: marginals.map((m) => this.labels[argmax(m)]), marginals };
  }
}

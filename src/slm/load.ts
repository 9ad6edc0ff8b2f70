/**
 * The one place that turns a `fusion.slm` spec into a supervised small tagger:
 *   'model.crf' or {kind: crf, path}  -> the CRF written by `el4ner train-slm`;
 *   {kind: onnx, path, ...options}     -> a transformer token classifier folder (src/slm/onnx).
 * Both come back with the same surface: what fusion needs (`SlmLike`) plus predict and close.
 * Errors are ConfigErrors naming the config key, the file and, inside the file, the key.
 */
import { resolve } from 'node:path';
import type { SlmSpec } from '../config/schema.js';
import type { DocumentContext } from '../core/context.js';
import { ConfigError } from '../core/errors.js';
import type { NerDocument, Token } from '../core/types.js';
import type { SlmLike, SlmTagging } from '../fusion/slm.js';
import { ModelFolderError, SlmOptionError } from './onnx/errors.js';
import { independentSpanProbabilities, type TokenRange } from './span-probabilities.js';
import type { TokenMarginals } from './tagger.js';

export interface Slm extends SlmLike {
  readonly kind: 'crf' | 'onnx';
  /** The model name in entity sources and of the EL4NER voter: 'crf' or 'onnx'. */
  readonly name: string;
  /** The model file or folder. */
  readonly path: string;
  /** For messages: 'CRF' or 'ONNX token classifier'. */
  readonly description: string;
  /** Whether the tagger reads a document's context (the CRF's document features). */
  readonly readsContext: boolean;
  /** Whether tagging computes on the main thread (the CRF; the ONNX runtime does not). */
  readonly synchronous: boolean;
  tagTokens(tokens: readonly string[], context?: DocumentContext): Promise<SlmTagging>;
  tokenMarginals(tokens: readonly string[], context?: DocumentContext): Promise<TokenMarginals>;
  /** Per token span, the probability of each of its types for exactly that span (src/slm/span-probabilities.ts). */
  spanProbabilities(
    tokens: readonly string[],
    spans: readonly TokenRange[],
    context?: DocumentContext,
  ): Promise<Array<Record<string, number>>>;
  /** Entities of a document; tokens from doc.tokens, else the project tokenizer (CJK: characters). */
  predict(doc: {
    id: string;
    text: string;
    tokens?: Token[];
    context?: DocumentContext;
  }): Promise<NerDocument>;
  close(): Promise<void>;
}

export interface LoadSlmOptions {
  /** Folder relative paths are resolved against (configs loaded by loadConfig are resolved already). */
  baseDir?: string;
  /** The config key named in errors. Default 'fusion.slm'. */
  key?: string;
}

/** The file or folder of a spec, for messages and reports. */
export function slmPath(spec: SlmSpec): string {
  return typeof spec === 'string' ? spec : spec.path;
}

/** What a spec loads, for messages: 'CRF' or 'ONNX token classifier'. */
export function slmDescription(spec: SlmSpec): string {
  return typeof spec === 'string' || spec.kind === 'crf' ? 'CRF' : 'ONNX token classifier';
}

export async function loadSlm(spec: SlmSpec, opts: LoadSlmOptions = {}): Promise<Slm> {
  const key = opts.key ?? 'fusion.slm';
  const s = typeof spec === 'string' ? { kind: 'crf' as const, path: spec } : spec;
  const path = opts.baseDir ? resolve(opts.baseDir, s.path) : s.path;
  if (s.kind === 'crf') {
    const { CrfTagger, SLM_MODEL_NAME } = await import('./tagger.js');
    let crf: InstanceType<typeof CrfTagger>;
    try {
      crf = await CrfTagger.load(path);
    } catch (e) {
      // the model file's errors start with its path, which this line names already
      const why = (e as Error).message.replace(`${path}: `, '');
      throw new ConfigError(`${key}: cannot load the CRF model ${path}: ${why}`);
    }
    return {
      kind: 'crf',
      name: SLM_MODEL_NAME,
      path,
      description: slmDescription(spec),
      labels: crf.labels,
      scheme: crf.scheme,
      readsContext: crf.readsContext,
      synchronous: true,
      tagTokens: async (tokens, context) => crf.tagTokens(tokens, context),
      tokenMarginals: async (tokens, context) => crf.tokenMarginals(tokens, context),
      spanProbabilities: async (tokens, spans, context) => crf.spanProbabilities(tokens, spans, context),
      predict: async (doc) => crf.predict(doc),
      close: async () => {},
    };
  }
  const { OnnxTagger } = await import('./onnx/tagger.js');
  const { kind: _kind, path: _path, ...options } = s;
  try {
    const t = await OnnxTagger.load(path, options);
    return {
      kind: 'onnx',
      name: t.name,
      path,
      description: slmDescription(spec),
      labels: t.labels,
      scheme: t.scheme,
      readsContext: false,
      synchronous: false,
      tagTokens: (tokens) => t.tagTokens(tokens),
      tokenMarginals: (tokens) => t.tokenMarginals(tokens),
      spanProbabilities: async (tokens, spans) =>
        independentSpanProbabilities(t.labels, t.scheme, (await t.tagTokens(tokens)).marginals, spans),
      predict: (doc) => t.predict(doc),
      close: () => t.close(),
    };
  } catch (e) {
    if (e instanceof SlmOptionError) throw new ConfigError(`${key}.${e.option}: ${e.message}`);
    if (e instanceof ModelFolderError) throw new ConfigError(`${key}: ${e.message}`);
    throw new ConfigError(
      `${key}.path: cannot load the ONNX token classifier ${path}: ${(e as Error).message}`,
    );
  }
}

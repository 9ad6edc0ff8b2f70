/**
 * Writes a model folder in the layout `optimum-cli export onnx --task token-classification`
 * produces (model.onnx, config.json with id2label/label2id, tokenizer.json, tokenizer_config.json),
 * holding a real ONNX graph from `graph.ts`: random, or with embeddings that make each token
 * predict a chosen label so that tests know the answer.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type EncoderShape,
  identityClassifier,
  labelledEmbeddings,
  parameterCount,
  tokenClassifierGraph,
} from './graph.js';
import { type TokenizerJson, vocabOf } from './tokenizers.js';

export interface ModelFolderSpec {
  tokenizer: TokenizerJson;
  /** Labels in id order, e.g. ['O', 'B-PER', 'I-PER']. */
  labels: readonly string[];
  /**
   * Token (vocabulary string) -> the label the graph predicts for it, or label weights for a token
   * it is unsure about ({O: 0.6, 'B-ORG': 0.4}); every other token predicts 'O'.
   */
  tokenLabels?: Record<string, string | Record<string, number>>;
  /** Classifier gain: higher gives sharper (more confident) distributions. Default 1. */
  gain?: number;
  /** Standard deviation of the attention and feed-forward weights: how much context moves a token. Default 0.2. */
  std?: number;
  /** Random weights everywhere (the benchmark's graphs) instead of label-pointing embeddings. */
  random?: boolean;
  /** Graph sizes; `vocab` at least the tokenizer's (more rows are never looked up, as in real exports). */
  shape?: Partial<Omit<EncoderShape, 'labels'>>;
  /** config.json's model_type (default 'bert'). */
  modelType?: string;
  /** Written to tokenizer_config.json (default: model_max_length = maxPositions). */
  tokenizerConfig?: Record<string, unknown>;
  /** Extra config.json keys (or overrides, e.g. a broken id2label). */
  config?: Record<string, unknown>;
  seed?: number;
}

export interface WrittenModelFolder {
  dir: string;
  shape: EncoderShape;
  parameters: number;
  bytes: number;
}

export async function writeModelFolder(dir: string, spec: ModelFolderSpec): Promise<WrittenModelFolder> {
  const vocab = vocabOf(spec.tokenizer);
  let vocabSize = spec.shape?.vocab ?? 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);
  const labels = spec.labels;
  const shape: EncoderShape = {
    hidden: Math.max(16, labels.length),
    layers: 1,
    heads: 2,
    ffn: 32,
    maxPositions: 64,
    labels: labels.length,
    ...spec.shape,
    vocab: vocabSize,
  };
  let graph: Uint8Array;
  if (spec.random) graph = tokenClassifierGraph(shape, { seed: spec.seed ?? 1 });
  else {
    const labelId = new Map(labels.map((l, i) => [l, i]));
    const byId = new Map<number, Map<number, number>>();
    for (const [token, value] of Object.entries(spec.tokenLabels ?? {})) {
      const id = vocab.get(token);
      if (id === undefined) throw new Error(`token "${token}" is not in the vocabulary`);
      const weights = new Map<number, number>();
      for (const [label, w] of Object.entries(typeof value === 'string' ? { [value]: 1 } : value)) {
        const l = labelId.get(label);
        if (l === undefined) throw new Error(`label "${label}" is not one of ${labels.join(' ')}`);
        weights.set(l, w);
      }
      byId.set(id, weights);
    }
    const outside = new Map([[labelId.get('O') ?? 0, 1]]);
    graph = tokenClassifierGraph(shape, {
      seed: spec.seed ?? 1,
      // Context matters through attention, but each token's own embedding decides its label.
      std: spec.std ?? 0.2,
      wordEmbeddings: labelledEmbeddings(shape, (id) => byId.get(id) ?? outside, { seed: spec.seed }),
      classifier: identityClassifier(shape, spec.gain ?? 1),
    });
  }
  await mkdir(dir, { recursive: true });
  const id2label = Object.fromEntries(labels.map((l, i) => [String(i), l]));
  const label2id = Object.fromEntries(labels.map((l, i) => [l, i]));
  const config = {
    architectures: ['BertForTokenClassification'],
    model_type: spec.modelType ?? 'bert',
    hidden_size: shape.hidden,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    intermediate_size: shape.ffn,
    max_position_embeddings: shape.maxPositions,
    type_vocab_size: shape.typeVocab ?? 2,
    vocab_size: shape.vocab,
    id2label,
    label2id,
    ...spec.config,
  };
  await writeFile(join(dir, 'model.onnx'), graph);
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(spec.tokenizer));
  await writeFile(
    join(dir, 'tokenizer_config.json'),
    `${JSON.stringify(spec.tokenizerConfig ?? { model_max_length: shape.maxPositions }, null, 2)}\n`,
  );
  return { dir, shape, parameters: parameterCount(shape), bytes: graph.byteLength };
}

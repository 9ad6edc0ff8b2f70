/**
 * Writes real ONNX graphs of BERT-style token classifiers for tests and benchmarks: word,
 * position and token-type embeddings, LayerNorm, `layers` transformer blocks (multi-head
 * self-attention with the attention mask, GELU feed-forward, residuals, LayerNorm) and a linear
 * classifier giving `logits [batch, sequence, labels]`, with the inputs an Optimum export has
 * (`input_ids`, `attention_mask`, `token_type_ids`, int64). Weights are seeded random unless given;
 * a test that needs known predictions passes word embeddings that point at a label (see
 * `labelledEmbeddings`). Encoded with the ONNX protobuf schema of `onnx-proto`.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Node = InstanceType<typeof onnx.NodeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;

export interface EncoderShape {
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  ffn: number;
  /** Rows of the position embedding table: the longest input the graph accepts. */
  maxPositions: number;
  labels: number;
  typeVocab?: number;
}

export interface GraphOptions {
  seed?: number;
  /** Standard deviation of the random weights (BERT initialises with 0.02). */
  std?: number;
  /** vocab x hidden, row-major; random when absent. */
  wordEmbeddings?: Float32Array;
  /** hidden x labels, row-major; random when absent. */
  classifier?: Float32Array;
}

/** A small fast seeded generator of normal deviates (mulberry32 + Box-Muller). */
export function normalSampler(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = uniform() || 1e-12;
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Word embeddings whose row for token id `i` points at the labels `labelsOf(i)` gives (label id ->
 * weight; the first `labels` hidden dimensions, `strength` times the weight on each) plus small
 * noise; with `identityClassifier` the classifier then predicts the heaviest label for the token
 * in any context, and two labels of equal weight leave it unsure.
 */
export function labelledEmbeddings(
  shape: EncoderShape,
  labelsOf: (tokenId: number) => ReadonlyMap<number, number>,
  opts: { strength?: number; noise?: number; seed?: number } = {},
): Float32Array {
  const next = normalSampler(opts.seed ?? 7);
  const noise = opts.noise ?? 0.05;
  const strength = opts.strength ?? 4;
  const out = new Float32Array(shape.vocab * shape.hidden);
  for (let v = 0; v < shape.vocab; v++) {
    for (let h = 0; h < shape.hidden; h++) out[v * shape.hidden + h] = noise * next();
    for (const [label, w] of labelsOf(v)) out[v * shape.hidden + label] += strength * w;
  }
  return out;
}

/** hidden x labels: hidden dimension k feeds label k (k < labels). */
export function identityClassifier(shape: EncoderShape, gain = 1): Float32Array {
  const out = new Float32Array(shape.hidden * shape.labels);
  for (let k = 0; k < Math.min(shape.hidden, shape.labels); k++) out[k * shape.labels + k] = gain;
  return out;
}

class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private count = 0;
  constructor(private readonly next: () => number) {}

  fresh(base: string): string {
    return `${base}_${this.count++}`;
  }

  floats(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      }),
    );
    return name;
  }

  ints(name: string, dims: number[], values: number[]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: onnx.TensorProto.DataType.INT64,
        rawData: new Uint8Array(data.buffer),
      }),
    );
    return name;
  }

  random(name: string, dims: number[], std: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = std * this.next();
    return this.floats(name, dims, data);
  }

  constant(name: string, dims: number[], value: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.floats(name, dims, new Float32Array(n).fill(value));
  }

  op(type: string, inputs: string[], attrs: Record<string, number | number[]> = {}, output?: string): string {
    const out = output ?? this.fresh(type.toLowerCase());
    const attribute = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v)
        ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v })
        : Number.isInteger(v)
          ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v })
          : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v }),
    );
    this.nodes.push(onnx.NodeProto.create({ opType: type, input: inputs, output: [out], attribute }));
    return out;
  }

  layerNorm(x: string, prefix: string, hidden: number): string {
    const g = this.constant(`${prefix}.gamma`, [hidden], 1);
    const b = this.constant(`${prefix}.beta`, [hidden], 0);
    return this.op('LayerNormalization', [x, g, b], { axis: -1, epsilon: 1e-12 });
  }

  linear(
    x: string,
    prefix: string,
    inDim: number,
    outDim: number,
    std: number,
    weight?: Float32Array,
  ): string {
    const w = weight
      ? this.floats(`${prefix}.weight`, [inDim, outDim], weight)
      : this.random(`${prefix}.weight`, [inDim, outDim], std);
    const b = this.constant(`${prefix}.bias`, [outDim], 0);
    return this.op('Add', [this.op('MatMul', [x, w]), b]);
  }
}

function tokenInput(name: string) {
  const elemType = onnx.TensorProto.DataType.INT64;
  const dim = [{ dimParam: 'batch_size' }, { dimParam: 'sequence_length' }];
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType, shape: { dim } } } });
}

/** The serialized ONNX model (opset 17). */
export function tokenClassifierGraph(shape: EncoderShape, opts: GraphOptions = {}): Uint8Array {
  const { hidden, heads, labels } = shape;
  if (hidden % heads !== 0) throw new Error(`hidden ${hidden} is not a multiple of heads ${heads}`);
  const headDim = hidden / heads;
  const std = opts.std ?? 0.02;
  const g = new GraphBuilder(normalSampler(opts.seed ?? 1));

  // Embeddings: word + position (0..S-1) + token type, then LayerNorm.
  const words = opts.wordEmbeddings
    ? g.floats('embeddings.word', [shape.vocab, hidden], opts.wordEmbeddings)
    : g.random('embeddings.word', [shape.vocab, hidden], std);
  const positions = g.random('embeddings.position', [shape.maxPositions, hidden], std);
  const types = g.random('embeddings.token_type', [shape.typeVocab ?? 2, hidden], std);
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), g.ints('one_scalar', [], [1])], { axis: 0 });
  const range = g.op('Range', [g.ints('zero_scalar', [], [0]), seqLen, 'one_scalar']);
  let x = g.op('Add', [g.op('Gather', [words, 'input_ids']), g.op('Gather', [positions, range])]);
  x = g.op('Add', [x, g.op('Gather', [types, 'token_type_ids'])]);
  x = g.layerNorm(x, 'embeddings.norm', hidden);

  // Additive mask [B, 1, 1, S]: 0 where attended, -10000 at padding.
  const maskF = g.op('Cast', ['attention_mask'], { to: onnx.TensorProto.DataType.FLOAT });
  const inverted = g.op('Sub', [g.constant('one_f', [], 1), maskF]);
  const additive = g.op('Mul', [inverted, g.constant('minus_big', [], -10000)]);
  const mask = g.op('Unsqueeze', [additive, g.ints('mask_axes', [2], [1, 2])]);
  const splitShape = g.ints('split_heads', [4], [0, 0, heads, headDim]);
  const mergeShape = g.ints('merge_heads', [3], [0, 0, hidden]);
  const scale = g.constant('attention_scale', [], 1 / Math.sqrt(headDim));
  const sqrtHalf = g.constant('sqrt_half', [], Math.SQRT1_2);
  const half = g.constant('half', [], 0.5);

  for (let l = 0; l < shape.layers; l++) {
    const p = `layer${l}`;
    const heads4 = (name: string, perm: number[]) =>
      g.op('Transpose', [g.op('Reshape', [g.linear(x, `${p}.${name}`, hidden, hidden, std), splitShape])], {
        perm,
      });
    const q = heads4('query', [0, 2, 1, 3]);
    const k = heads4('key', [0, 2, 3, 1]);
    const v = heads4('value', [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), mask]);
    const context = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [context], { perm: [0, 2, 1, 3] }), mergeShape]);
    x = g.layerNorm(
      g.op('Add', [x, g.linear(merged, `${p}.attention_out`, hidden, hidden, std)]),
      `${p}.norm1`,
      hidden,
    );
    const up = g.linear(x, `${p}.ffn_up`, hidden, shape.ffn, std);
    // GELU: x * 0.5 * (1 + erf(x / sqrt 2))
    const erf = g.op('Erf', [g.op('Mul', [up, sqrtHalf])]);
    const gelu = g.op('Mul', [g.op('Mul', [up, half]), g.op('Add', [erf, 'one_f'])]);
    x = g.layerNorm(
      g.op('Add', [x, g.linear(gelu, `${p}.ffn_down`, shape.ffn, hidden, std)]),
      `${p}.norm2`,
      hidden,
    );
  }
  const logitsIn = g.linear(x, 'classifier', hidden, labels, std, opts.classifier);
  g.op('Identity', [logitsIn], {}, 'logits');

  const logitsDims = [{ dimParam: 'batch_size' }, { dimParam: 'sequence_length' }, { dimValue: labels }];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'el4ner-test-graph',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'token_classifier',
      node: g.nodes,
      initializer: g.initializers,
      input: ['input_ids', 'attention_mask', 'token_type_ids'].map(tokenInput),
      output: [
        onnx.ValueInfoProto.create({
          name: 'logits',
          type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: logitsDims } } },
        }),
      ],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Parameters of a graph of this shape (embeddings, blocks, classifier; LayerNorm included). */
export function parameterCount(s: EncoderShape): number {
  const emb = (s.vocab + s.maxPositions + (s.typeVocab ?? 2)) * s.hidden + 2 * s.hidden;
  const block = 4 * (s.hidden * s.hidden + s.hidden) + 2 * s.hidden * s.ffn + s.ffn + s.hidden + 4 * s.hidden;
  return emb + s.layers * block + s.hidden * s.labels + s.labels;
}

/**
 * The configuration file (YAML or JSON), validated with zod. Every key an issue names is here;
 * unknown keys are errors so that typos never pass silently.
 */
import { z } from 'zod';
import {
  DEFAULT_DECISION,
  DEFAULT_VERIFICATION,
  VOTE_KINDS,
  VOTING_RULE_NAMES,
} from '../el4ner/voting/rules.js';

/** The enums of the stage switches (CLI flags and their help are derived from these). */
export const RETRIEVAL_MODES = ['span-level', 'sentence-embedding', 'random', 'none'] as const;
export const EXTRACTION_MODES = ['union', 'single'] as const;
export const CLASSIFICATION_MODES = ['vote', 'weighted-vote', 'single'] as const;
export { VOTING_RULE_NAMES };

const name = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits, _ . : -');

const common = {
  name,
  /** Requests in flight at once for this model. */
  concurrency: z.number().int().positive().default(4),
  /** Timeout of one HTTP attempt in milliseconds (the whole call is bounded by `deadlineMs`). */
  timeoutMs: z.number().int().positive().default(120_000),
  /** Attempts per request (1 = no retry). */
  maxAttempts: z.number().int().positive().default(4),
  temperature: z.number().min(0).max(2).default(0),
  maxTokens: z.number().int().positive().default(512),
  seed: z.number().int().optional(),
  /**
   * Calls failed in a row after which the model is not called for a while (its calls fail at
   * once), then probed again; `failures: 0` turns the breaker off. Defaults: 5, 5000, 60000.
   */
  circuitBreaker: z
    .object({
      failures: z.number().int().min(0).optional(),
      cooldownMs: z.number().int().positive().optional(),
      maxCooldownMs: z.number().int().positive().optional(),
    })
    .strict()
    .optional(),
};

export const openaiModelSchema = z
  .object({
    ...common,
    engine: z.literal('openai'),
    baseUrl: z.string().url(),
    model: z.string().min(1),
    /** Name of the environment variable holding the API key (the key itself never goes in the file). */
    apiKeyEnv: z.string().optional(),
    /** Server flavour, for structured-output and logprob fallbacks. 'auto' guesses from the base URL. */
    server: z.enum(['auto', 'openai', 'vllm', 'sglang', 'llama.cpp', 'ollama', 'lmstudio']).default('auto'),
    /** Use this model for embeddings instead of chat (OpenAI-compatible /embeddings). */
    embeddingModel: z.string().optional(),
    /**
     * Longest time one call may take, every attempt, backoff and Retry-After wait included.
     * Default: maxAttempts x (timeoutMs + 1000).
     */
    deadlineMs: z.number().int().positive().optional(),
    /** Largest response body accepted, in bytes; a longer answer fails the call. Default 4 MiB. */
    maxResponseBytes: z.number().int().positive().optional(),
  })
  .strict();

export const llamaCppModelSchema = z
  .object({
    ...common,
    engine: z.literal('llama-cpp'),
    /** A local .gguf path or an hf:<user>/<repo>/<file> URI (downloaded once into modelCacheDir). */
    path: z.string().min(1),
    modelCacheDir: z.string().optional(),
    contextSize: z.number().int().positive().optional(),
    /** Context sequences sharing the loaded model. */
    parallel: z.number().int().positive().default(2),
    threads: z.number().int().positive().optional(),
    lora: z.array(z.object({ path: z.string(), scale: z.number().default(1) }).strict()).optional(),
    embedding: z.boolean().default(false),
    /** 'auto': the best GPU node-llama-cpp finds, else CPU; false: CPU only. */
    gpu: z.union([z.literal('auto'), z.literal(false)]).optional(),
    /** 'never': fail at once when no prebuilt llama.cpp binary works instead of compiling one for minutes. */
    build: z.enum(['auto', 'never']).optional(),
    /** false: never download an hf: model, only use the model cache. */
    download: z.union([z.literal('auto'), z.literal(false)]).optional(),
    /** Hugging Face hub base URL for hf: models (default $HF_ENDPOINT or https://huggingface.co). */
    hfEndpoint: z.string().url().optional(),
    /** Reachability check of the hub before a download, in ms (default 5000). */
    probeTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

export const modelSchema = z.discriminatedUnion('engine', [openaiModelSchema, llamaCppModelSchema]);

export const stageSwitchesSchema = z
  .object({
    /** span-level (the paper), sentence-embedding, random, none (zero-shot). */
    retrieval: z.enum(RETRIEVAL_MODES).default('span-level'),
    /** union of all backbones, or one model's spans ('single' uses `singleModel`). */
    extraction: z.enum(EXTRACTION_MODES).default('union'),
    classification: z.enum(CLASSIFICATION_MODES).default('vote'),
    verification: z.boolean().default(true),
    /** Off: one joint extract-and-type call per backbone instead of separate stages. */
    decomposition: z.boolean().default(true),
    /** The model used by 'single' extraction / classification. */
    singleModel: name.optional(),
  })
  .strict();

export const retrievalSchema = z
  .object({
    mode: z.enum(RETRIEVAL_MODES).optional(),
    k: z.number().int().min(0).max(64).default(5),
    /**
     * POS weights of query spans: 'default' = PROPN 4, NOUN 2, PRON 1; 'paper-rank' = PROPN 1, NOUN 2,
     * PRON 4; 'uniform' = all 1 (no weighting). Unset: the pool index's own setting ('default' for a pool file).
     */
    weights: z
      .union([
        z.enum(['default', 'paper-rank', 'uniform']),
        z
          .object({ PROPN: z.number(), NOUN: z.number(), PRON: z.number(), other: z.number().default(1) })
          .strict(),
      ])
      .optional(),
    /** Which word gives a span's POS. Unset: the pool index's own setting ('first' for a pool file). */
    posOf: z.enum(['first', 'head']).optional(),
    /** Candidate spans of pool sentences: gold spans, or zero-shot LLM pre-extraction as in the paper. */
    poolSpans: z.enum(['gold', 'llm']).default('gold'),
    /** How the pool index stores and searches its vectors (docs/retrieval.md). */
    index: z
      .object({
        /** Dense vectors (an embedding model) as float32, or int8 with a scale per row (4x smaller). */
        precision: z.enum(['f32', 'int8']).default('f32'),
        /** An approximate (HNSW) index over dense span vectors; needs the optional package usearch. */
        approximate: z.boolean().default(false),
        /** Whole-sentence vectors (the sentence-embedding mode needs them); off saves memory for a huge pool. */
        sentenceVectors: z.boolean().default(true),
      })
      .strict()
      .optional(),
    seed: z.number().int().default(13),
  })
  .strict();

export const calibrationSchema = z
  .object({
    /** Logistic weight per feature (src/el4ner/voting/calibration.ts); `bias` is the intercept. */
    weights: z.record(z.string(), z.number()),
    /** Where it was fitted (written by `el4ner tune`). */
    fitted: z.string().optional(),
  })
  .strict();

export const OVERLAP_POLICIES = ['auto', 'flat', 'nested'] as const;

export const decisionSchema = z
  .object({
    /**
     * entity-then-type: entity vs none first, then the type; hard-vote: the paper's vote ('none'
     * is a type like the others); type-vote: the plain vote (the plurality type's share of the voters).
     */
    rule: z.enum(VOTING_RULE_NAMES).default(DEFAULT_DECISION.rule),
    /**
     * entity-then-type: share of the answering vote weight that must say "entity"; type-vote:
     * share of the asked voters' weight the plurality type must have (both strictly more).
     */
    threshold: z.number().min(0).max(1).default(DEFAULT_DECISION.threshold),
    /** entity-then-type: below this share of voters answering, abstentions count as 'none'. */
    quorum: z.number().min(0).max(1).default(DEFAULT_DECISION.quorum),
    /**
     * hard: each classifier's answer is one vote; soft: it is spread over the labels and 'none' by
     * the probabilities the model gave them (token logprobs; answers without them stay hard).
     */
    votes: z.enum(VOTE_KINDS).default(DEFAULT_DECISION.votes),
    /** Entities whose final score is below this are dropped (`el4ner run --threshold`). */
    minScore: z.number().min(0).max(1).default(0),
    /**
     * Overlapping entities: flat (the best-scored span of an overlapping group wins), nested (all
     * kept), auto (nested when the pool's own entities overlap, else flat).
     */
    overlaps: z.enum(OVERLAP_POLICIES).default('auto'),
    /** A calibrated entity score fitted on dev (written by `el4ner tune`). */
    calibration: calibrationSchema.optional(),
  })
  .strict();

export const VERIFICATION_POLICIES = ['all', 'selective', 'off'] as const;

export const verificationSchema = z
  .object({
    /** all: every decided entity (the paper); selective: those whose vote margin is below `margin`; off. */
    policy: z.enum(VERIFICATION_POLICIES).default(DEFAULT_VERIFICATION.policy),
    /** selective: verify the entities whose vote margin (in [-1, 1], 1 = unanimous) is below this. */
    margin: z.number().min(-1).max(1).default(DEFAULT_VERIFICATION.margin),
    /** veto: a 'no' removes the entity (the paper); feature: the verdict only moves the entity's score. */
    use: z.enum(['veto', 'feature']).default(DEFAULT_VERIFICATION.use),
  })
  .strict();

/** A CRF model file written by `el4ner train-slm`. */
export const crfSlmSchema = z.object({ kind: z.literal('crf'), path: z.string().min(1) }).strict();

/** A transformer token classifier exported to ONNX by Optimum: model.onnx, config.json, tokenizer.json. */
export const onnxSlmSchema = z
  .object({
    kind: z.literal('onnx'),
    /** The model folder. */
    path: z.string().min(1),
    /** Tokens per window, special tokens included (default: the model's limit, else 512). */
    maxLength: z.number().int().positive().optional(),
    /** Tokens shared by consecutive windows of a long input (default: a quarter of a window). */
    stride: z.number().int().min(0).optional(),
    /** Windows per onnxruntime call (default 16). */
    batchSize: z.number().int().positive().optional(),
    /** onnxruntime intra-op threads (default: one per core). */
    threads: z.number().int().positive().optional(),
    /** 'cuda' needs onnxruntime-node's CUDA provider (default 'cpu'). */
    device: z.enum(['cpu', 'cuda']).optional(),
  })
  .strict();

/** The supervised small tagger: a CRF model path (short form), {kind: crf, path} or {kind: onnx, path, ...}. */
export const slmSpecSchema = z.union(
  [z.string().min(1), z.discriminatedUnion('kind', [crfSlmSchema, onnxSlmSchema])],
  {
    // Name what is wrong inside the object form rather than a bare "Invalid input".
    error: (iss) => {
      const input = (iss as { input?: unknown }).input;
      const inner = (iss as { errors?: { path: PropertyKey[]; message: string }[][] }).errors?.[1]?.[0];
      if (input && typeof input === 'object' && inner) {
        const key = inner.path.map(String).join('.');
        if (key === 'kind') return "kind: expected 'crf' or 'onnx'";
        return `${key ? `${key}: ` : ''}${inner.message}`;
      }
      return 'expected a CRF model path or {kind: onnx, path: <model folder>}';
    },
  },
);

export const fusionSchema = z
  .object({
    /** The SLM: a CRF model file written by `el4ner train-slm`, or {kind: onnx, path: <folder>}. */
    slm: slmSpecSchema,
    /** The LLM (model name) that tags inline for fusion. */
    llm: name.optional(),
    lambda: z.union([z.literal('auto'), z.number().positive()]).default('auto'),
    /** The lambda with which a confident LLM removes an SLM entity it left outside (default: lambda; 'auto' tunes both). */
    lambdaOutside: z.number().min(0).optional(),
    /** Which LLM probability drives S_L: the type label's first token, or the boundary tokens. */
    probability: z.enum(['category', 'boundary', 'mean']).default('category'),
    /** Let the SLM vote in the EL4NER ensemble as one more backbone. */
    voter: z.boolean().default(false),
    /** Gold-labelled documents (JSONL, CoNLL, ...) on which lambda is chosen when it is 'auto'. */
    dev: z.string().min(1).optional(),
  })
  .strict();

export const expertSchema = z
  .object({
    name,
    /** The model (from `models`) this expert runs on. */
    model: name,
    lora: z.array(z.object({ path: z.string(), scale: z.number().default(1) }).strict()).optional(),
    /** The expert's source domain: sample texts (a JSONL/text file) or a stored embedding centroid. */
    domain: z
      .object({
        samples: z.string().optional(),
        texts: z.array(z.string()).optional(),
        centroid: z.array(z.number()).optional(),
      })
      .strict()
      .optional(),
    /** Measured reliability per entity type (written by `select`/`tune`), used as vote weights. */
    weights: z.record(z.string(), z.number()).optional(),
  })
  .strict();

export const configSchema = z
  .object({
    models: z.array(modelSchema).default([]),
    /** Backbones of the ensemble (model names); default: every chat model. */
    backbones: z.array(name).optional(),
    /** The model that verifies typed entities. Default: the first backbone. */
    verifier: name.optional(),
    /** Model used for span embeddings; without one, a lexical character n-gram embedder runs offline. */
    embedding: z.object({ model: name }).strict().optional(),
    /** Entity types; taken from the pool when absent. */
    labels: z.array(z.string().min(1)).optional(),
    /** Descriptions of labels shown to the models. */
    labelDescriptions: z.record(z.string(), z.string()).optional(),
    /** Labelled demonstration pool: a JSONL file or an index folder written by `el4ner index`. */
    pool: z.string().optional(),
    retrieval: retrievalSchema.default({ k: 5, poolSpans: 'gold', seed: 13 }),
    stages: stageSwitchesSchema.default({
      retrieval: 'span-level',
      extraction: 'union',
      classification: 'vote',
      verification: true,
      decomposition: true,
    }),
    /** How classification votes become entities (src/el4ner/voting/rules.ts). */
    decision: decisionSchema.default({ ...DEFAULT_DECISION, minScore: 0, overlaps: 'auto' }),
    /** Which decided entities the verifier sees and what its answer does (`stages.verification` switches it). */
    verification: verificationSchema.default({ ...DEFAULT_VERIFICATION }),
    /** Vote weights per model, optionally per type: {model: number | {TYPE: number}}. */
    voteWeights: z.record(z.string(), z.union([z.number(), z.record(z.string(), z.number())])).optional(),
    /** Max characters per model input; longer documents are split into sentences / chunks. */
    maxChars: z.number().int().positive().default(1500),
    /** Sentences processed at once. */
    concurrency: z.number().int().positive().default(8),
    cache: z
      .object({
        enabled: z.boolean().default(true),
        path: z.string().default('.el4ner-cache/responses.sqlite'),
      })
      .strict()
      .default({ enabled: true, path: '.el4ner-cache/responses.sqlite' }),
    fusion: fusionSchema.optional(),
    experts: z.array(expertSchema).optional(),
    selection: z
      .object({
        topByDomain: z.number().int().positive().default(2),
        topByPerformance: z.number().int().positive().default(2),
        /** 0: rank by domain similarity only (as `el4ner select --labelled 0`). */
        labelled: z.number().int().nonnegative().default(20),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type OpenAIModelConfig = z.infer<typeof openaiModelSchema>;
export type LlamaCppModelConfig = z.infer<typeof llamaCppModelSchema>;
export type StageSwitches = z.infer<typeof stageSwitchesSchema>;
export type RetrievalConfig = z.infer<typeof retrievalSchema>;
export type FusionConfig = z.infer<typeof fusionSchema>;
export type SlmSpec = z.infer<typeof slmSpecSchema>;
export type ExpertConfig = z.infer<typeof expertSchema>;
export type DecisionConfig = z.infer<typeof decisionSchema>;
export type VerificationConfig = z.infer<typeof verificationSchema>;

import { performance } from 'node:perf_hooks';
import type {
  ChatHistoryItem,
  ChatWrapper,
  Llama,
  LlamaContext,
  LlamaEmbeddingContext,
  LlamaGrammar,
  LlamaModel,
  LlamaText,
  Token,
} from 'node-llama-cpp';
import type {
  ChatMessage,
  ChatOptions,
  ChatRequest,
  ChatResponse,
  EmbedResponse,
  Engine,
  JsonSchema,
  PromptFit,
  TokenLogprob,
} from '../types.js';
import { checkLocalFile, resolveModelPath } from './model-file.js';
import { acquireLlama, releaseLlama } from './runtime.js';
import { SequencePool } from './sequence-pool.js';
import { acquireModel } from './shared-models.js';

export interface LlamaCppEngineOptions {
  name: string;
  /** A local GGUF file, or `hf:<user>/<repo>/<file>.gguf` (downloaded once into `modelCacheDir`). */
  path: string;
  modelCacheDir?: string;
  /** Tokens per context sequence (default: the model's training context, at most 4096). */
  contextSize?: number;
  /** Context sequences = requests evaluated at the same time on the one loaded model (default 2). */
  parallel?: number;
  threads?: number;
  /** Default 'auto' (best GPU found, else CPU). */
  gpu?: false | 'auto';
  /** LoRA adapters applied to the chat context; scales are fixed for the engine's lifetime. */
  lora?: { path: string; scale: number }[];
  /** Create the embedding context as soon as the model loads (embed() creates it lazily otherwise). */
  embedding?: boolean;
  /** See RuntimeOptions.build: 'never' fails instead of compiling llama.cpp for minutes. */
  build?: 'auto' | 'never';
  /** `false`: never download an `hf:` model, only use the cache. */
  download?: 'auto' | false;
  /** Hugging Face hub base URL (default $HF_ENDPOINT or https://huggingface.co). */
  hfEndpoint?: string;
  /** Reachability check of the hub before a download (default 5000 ms). */
  probeTimeoutMs?: number;
  /** maxTokens when a request sets none (default 512). */
  defaultMaxTokens?: number;
}

type Lib = typeof import('node-llama-cpp');

interface Loaded {
  lib: Lib;
  llama: Llama;
  model: LlamaModel;
  /** This engine stops using the model, which other engines on the same file may share. */
  release(): Promise<void>;
}

interface ChatState {
  context: LlamaContext;
  pool: SequencePool;
  wrapper: ChatWrapper;
}

/**
 * Embedded GGUF engine: llama.cpp through node-llama-cpp, one loaded model shared by parallel requests
 * and by the other engines of the process on the same file (src/engines/llama-cpp/shared-models.ts).
 */
export class LlamaCppEngine implements Engine {
  readonly name: string;
  readonly identity: string;
  private readonly options: LlamaCppEngineOptions;
  private loaded?: Promise<Loaded>;
  private chatState?: Promise<ChatState>;
  private embedContext?: Promise<LlamaEmbeddingContext>;
  private embedChain: Promise<unknown> = Promise.resolve();
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  private busy = 0;
  /**
   * Counters for diagnostics and tests: the model loads this engine made (0 when it uses a model
   * another engine loaded), and the most sequences ever generating at once.
   */
  readonly stats = { modelLoads: 0, peakBusySequences: 0 };

  constructor(options: LlamaCppEngineOptions) {
    if (!options.path) throw new Error(`llama-cpp engine ${options.name}: path is required`);
    this.options = { ...options };
    this.name = options.name;
    const lora = (options.lora ?? []).map((l) => `${l.path}@${l.scale}`).join(',');
    this.identity = `llama-cpp:${options.path}${lora ? `+lora:${lora}` : ''}`;
  }

  chat(request: ChatRequest, options?: ChatOptions): Promise<ChatResponse> {
    return this.track(this.runChat(request, options?.signal));
  }

  embed(texts: string[], options?: { signal?: AbortSignal; stage?: string }): Promise<EmbedResponse> {
    return this.track(this.runEmbed(texts, options?.signal));
  }

  promptFit(messages: ChatMessage[]): Promise<PromptFit> {
    return this.track(
      (async () => {
        const { model } = await this.load();
        const chat = await this.chat_();
        const tokens = templated(chat, model, messages).tokens.length;
        const contextSize = chat.context.contextSize;
        return { tokens, contextSize, answerRoom: answerRoom(contextSize, tokens) };
      })(),
    );
  }

  prepare(): Promise<void> {
    return this.track(this.chat_().then(() => undefined));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    const chat = await this.chatState?.catch(() => undefined);
    chat?.pool.close();
    const embed = await this.embedContext?.catch(() => undefined);
    await embed?.dispose();
    await chat?.context.dispose();
    const loaded = await this.loaded?.catch(() => undefined);
    if (loaded) {
      await loaded.release();
      releaseLlama(this.options);
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`llama-cpp engine ${this.name} is closed`));
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  private load(): Promise<Loaded> {
    if (!this.loaded) {
      this.loaded = this.loadModel();
      // A failed load (missing file, offline) may succeed later: do not cache the failure.
      this.loaded.catch(() => {
        this.loaded = undefined;
      });
    }
    return this.loaded;
  }

  private async loadModel(): Promise<Loaded> {
    const o = this.options;
    const modelPath = await resolveModelPath(o.path, {
      modelCacheDir: o.modelCacheDir,
      download: o.download,
      hfEndpoint: o.hfEndpoint,
      probeTimeoutMs: o.probeTimeoutMs,
    });
    for (const l of o.lora ?? []) checkLocalFile(l.path, 'LoRA adapter');
    const lib = await import('node-llama-cpp');
    const llama = await acquireLlama(o);
    try {
      const shared = await acquireModel(llama, modelPath);
      if (shared.loadedNow) this.stats.modelLoads++;
      const loaded = { lib, llama, model: shared.model, release: shared.release };
      if (o.embedding) this.embedContext = this.createEmbedContext(loaded);
      return loaded;
    } catch (err) {
      releaseLlama(o);
      throw new Error(`llama-cpp engine ${this.name}: cannot load ${modelPath}: ${(err as Error).message}`);
    }
  }

  private contextSizeFor(model: LlamaModel): number {
    return this.options.contextSize ?? Math.min(model.trainContextSize || 4096, 4096);
  }

  private chat_(): Promise<ChatState> {
    if (!this.chatState) {
      this.chatState = (async () => {
        const loaded = await this.load();
        const { model, lib } = loaded;
        const o = this.options;
        const parallel = Math.max(1, o.parallel ?? 2);
        const context = await model.createContext({
          sequences: parallel,
          contextSize: this.contextSizeFor(model),
          threads: o.threads,
          lora: o.lora?.length
            ? {
                adapters: o.lora.map((l) => ({
                  filePath: checkLocalFile(l.path, 'LoRA adapter'),
                  scale: l.scale,
                })),
              }
            : undefined,
        });
        const sequences = Array.from({ length: parallel }, () => context.getSequence());
        return { context, pool: new SequencePool(sequences), wrapper: lib.resolveChatWrapper(model) };
      })();
      this.chatState.catch(() => {
        this.chatState = undefined;
      });
    }
    return this.chatState;
  }

  private grammarFor(llama: Llama, schema: JsonSchema): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let g = this.grammars.get(key);
    if (!g) {
      // biome-ignore lint/suspicious/noExplicitAny: node-llama-cpp types the schema statically; ours is runtime data
      g = llama.createGrammarForJsonSchema(schema as any) as Promise<LlamaGrammar>;
      this.grammars.set(key, g);
      g.catch(() => this.grammars.delete(key));
    }
    return g;
  }

  private async runChat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResponse> {
    const started = performance.now();
    const { lib, llama, model } = await this.load();
    const chat = await this.chat_();
    signal?.throwIfAborted();

    const { state, tokens } = templated(chat, model, request.messages);
    const room = answerRoom(chat.context.contextSize, tokens.length);
    if (room < 1)
      throw new Error(
        `llama-cpp engine ${this.name}: the prompt has ${tokens.length} tokens, more than the context size ` +
          `${chat.context.contextSize}; raise contextSize or shorten the prompt`,
      );
    const maxTokens = Math.min(request.maxTokens ?? this.options.defaultMaxTokens ?? 512, room);
    const stopTexts = [...(request.stop ?? []), ...triggerTexts(state.stopGenerationTriggers)].filter(
      (s) => s.length > 0,
    );
    const grammar = request.jsonSchema ? await this.grammarFor(llama, request.jsonSchema.schema) : undefined;
    const wantLogprobs = request.logprobs === true;
    const topK = Math.max(0, Math.min(20, Math.floor(request.topLogprobs ?? 0)));

    const seq = await chat.pool.acquire(tokens, signal);
    this.busy++;
    this.stats.peakBusySequences = Math.max(this.stats.peakBusySequences, this.busy);
    let cached = 0;
    const generated: Token[] = [];
    const starts: number[] = [];
    const logprobs: TokenLogprob[] = [];
    let text = '';
    try {
      // Keep the longest evaluated prefix this sequence shares with the prompt; evaluate the rest.
      // The last prompt token is always evaluated so the model yields logits for the first answer token.
      const prefix = tokens.slice(0, -1);
      await seq.adaptStateToTokens(prefix, false);
      cached = seq.nextTokenIndex;
      const input = [...prefix.slice(cached), tokens[tokens.length - 1]];
      const grammarEvaluationState = grammar
        ? new lib.LlamaGrammarEvaluationState({ model, grammar })
        : undefined;
      const iterator = seq.evaluateWithMetadata(
        input,
        { confidence: true, probabilities: wantLogprobs && topK > 0 } as {
          confidence: true;
          probabilities: true;
        },
        { temperature: request.temperature ?? 0, seed: request.seed, grammarEvaluationState },
      );
      for await (const out of iterator) {
        signal?.throwIfAborted();
        if (model.isEogToken(out.token)) break;
        const before = [...tokens.slice(-4), ...generated.slice(-8)];
        generated.push(out.token);
        starts.push(text.length);
        text = model.detokenize(generated);
        if (wantLogprobs)
          logprobs.push(tokenLogprob(model, out.token, out.confidence, out.probabilities, topK, before));

        const stopAt = firstIndexOfAny(text, stopTexts);
        if (stopAt >= 0) {
          text = text.slice(0, stopAt);
          const keep = starts.filter((s) => s < stopAt).length;
          logprobs.length = Math.min(logprobs.length, keep);
          break;
        }
        if (grammar && isCompleteJson(text)) break;
        if (generated.length >= maxTokens) break;
      }
    } finally {
      this.busy--;
      chat.pool.release(seq);
    }

    // A grammar-constrained answer is handed over parsed; one cut short (maxTokens) is handed over
    // as text, for the answer resolver to repair or reject.
    let json: unknown;
    if (request.jsonSchema) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return {
      text,
      ...(json !== undefined ? { json } : {}),
      ...(wantLogprobs ? { logprobs } : {}),
      usage: { promptTokens: tokens.length, completionTokens: generated.length, cachedPromptTokens: cached },
      latencyMs: performance.now() - started,
    };
  }

  private createEmbedContext(loaded: Loaded): Promise<LlamaEmbeddingContext> {
    const p = loaded.model.createEmbeddingContext({
      contextSize: this.contextSizeFor(loaded.model),
      threads: this.options.threads,
    });
    p.catch(() => {
      if (this.embedContext === p) this.embedContext = undefined;
    });
    return p;
  }

  private async runEmbed(texts: string[], signal?: AbortSignal): Promise<EmbedResponse> {
    const started = performance.now();
    const loaded = await this.load();
    this.embedContext ??= this.createEmbedContext(loaded);
    const ctx = await this.embedContext;
    // The embedding context evaluates one input at a time: chain calls instead of interleaving them.
    const run = this.embedChain.then(async () => {
      const vectors: Float32Array[] = [];
      let promptTokens = 0;
      for (const text of texts) {
        signal?.throwIfAborted();
        const length = ctx.calculateInputLength(text);
        const size = this.contextSizeFor(loaded.model);
        if (length > size)
          throw new Error(
            `llama-cpp engine ${this.name}: a text of ${length} tokens is longer than the embedding context (${size})`,
          );
        const e = await ctx.getEmbeddingFor(text);
        vectors.push(Float32Array.from(e.vector));
        promptTokens += length;
      }
      return { vectors, promptTokens };
    });
    this.embedChain = run.catch(() => undefined);
    const { vectors, promptTokens } = await run;
    return {
      vectors,
      usage: { promptTokens, completionTokens: 0, cachedPromptTokens: 0 },
      latencyMs: performance.now() - started,
    };
  }
}

/** Tokens an answer may take after a prompt of `promptTokens` (a request's maxTokens is cut to it). */
function answerRoom(contextSize: number, promptTokens: number): number {
  return contextSize - promptTokens - 1;
}

/** The prompt as the model sees it: rendered by its chat template, then tokenized. */
function templated(chat: ChatState, model: LlamaModel, messages: ChatMessage[]) {
  const state = chat.wrapper.generateContextState({ chatHistory: toChatHistory(messages) });
  return { state, tokens: state.contextText.tokenize(model.tokenizer) };
}

function toChatHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((m) =>
    m.role === 'system'
      ? { type: 'system', text: m.content }
      : m.role === 'user'
        ? { type: 'user', text: m.content }
        : { type: 'model', response: [m.content] },
  );
  history.push({ type: 'model', response: [] });
  return history;
}

/** Plain-text stop triggers of the chat template; special-token triggers (EOS, EOT) are caught by isEogToken. */
function triggerTexts(triggers: readonly LlamaText[]): string[] {
  const out: string[] = [];
  for (const t of triggers) {
    const json = t.toJSON();
    const parts = typeof json === 'string' ? [json] : json;
    if (parts.some((p) => typeof p !== 'string' && p.type === 'specialToken')) continue;
    out.push(parts.map((p) => (typeof p === 'string' ? p : p.value)).join(''));
  }
  return out;
}

function tokenLogprob(
  model: LlamaModel,
  token: Token,
  confidence: number | undefined,
  probabilities: Map<Token, number> | undefined,
  topK: number,
  before: Token[],
): TokenLogprob {
  const entry: TokenLogprob = {
    token: model.detokenize([token], false, before),
    logprob: Math.log(confidence ?? probabilities?.get(token) ?? Number.NaN),
  };
  if (topK > 0 && probabilities) {
    const top = [];
    // The map is sorted by probability, highest first; tokens the grammar forbids have probability 0.
    for (const [t, p] of probabilities) {
      if (top.length >= topK || !(p > 0)) break;
      top.push({ token: model.detokenize([t], false, before), logprob: Math.log(p) });
    }
    entry.top = top;
  }
  return entry;
}

function firstIndexOfAny(text: string, needles: string[]): number {
  let best = -1;
  for (const n of needles) {
    const i = text.indexOf(n);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

function isCompleteJson(text: string): boolean {
  // Only values whose last character closes them: a number such as `1` might still grow into `12`.
  if (!/[}\]"el]\s*$/.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** One interface for every LLM backend: OpenAI-compatible HTTP servers and embedded GGUF models. */

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A JSON Schema object (the subset that vLLM, llama.cpp grammars and Ollama accept). */
export type JsonSchema = Record<string, unknown>;

export interface ChatRequest {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  seed?: number;
  stop?: string[];
  /** When set, the answer must be JSON that fits this schema; `ChatResponse.json` holds it parsed. */
  jsonSchema?: { name: string; schema: JsonSchema };
  /** Return per-token log probabilities. */
  logprobs?: boolean;
  /** Number of alternatives per token (0..20). */
  topLogprobs?: number;
  /** Pipeline stage, for cost accounting ('retrieval', 'extract', 'classify', 'verify', ...). */
  stage?: string;
}

export interface TopLogprob {
  token: string;
  logprob: number;
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  top?: TopLogprob[];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from a prefix cache (server-side or node-llama-cpp context reuse). */
  cachedPromptTokens: number;
}

export interface ChatResponse {
  text: string;
  /** The answer already parsed as JSON, when the engine decoded under a JSON grammar. */
  json?: unknown;
  logprobs?: TokenLogprob[];
  usage: Usage;
  latencyMs: number;
  /** True when the answer came from the response cache (no model call). */
  fromCache?: boolean;
  /** HTTP requests this answer took, retries included (engines that retry set it). */
  attempts?: number;
  /** Epoch ms by which the call had to be done: reading the answer stops trying candidates then. */
  deadline?: number;
}

export interface EmbedResponse {
  vectors: Float32Array[];
  usage: Usage;
  latencyMs: number;
}

export interface ChatOptions {
  signal?: AbortSignal;
  /** 'refresh': skip the response cache's stored answer for this request and store the new one. */
  cache?: 'refresh';
}

export interface Engine {
  /** The unique model name from the config. */
  readonly name: string;
  /** Stable identity for cache keys: engine kind, base URL / file, model. Never contains secrets. */
  readonly identity: string;
  chat(request: ChatRequest, options?: ChatOptions): Promise<ChatResponse>;
  embed(texts: string[], options?: { signal?: AbortSignal; stage?: string }): Promise<EmbedResponse>;
  /** Told by the answer resolver that an answer had nothing usable in it (the cost table counts it). */
  noteUnusable?(stage: string): void;
  /**
   * Engines with a fixed context window (the embedded GGUF engine): how many tokens `messages` take
   * after templating, the window, and the tokens left for an answer (a request's maxTokens is cut
   * to that). The start-up check uses it to refuse a context too small for every prompt, instead of
   * failing each document; `doctor` to tell whether the context or maxTokens cut an answer short.
   */
  promptFit?(messages: ChatMessage[]): Promise<PromptFit>;
  /**
   * Loads what the first call needs, when that is slow work of its own (the embedded GGUF engine:
   * the model file and its context); without it the first call does. `doctor` times the load apart
   * from the calls, so its per-call time limit does not cover a big model's load.
   */
  prepare?(): Promise<void>;
  close(): Promise<void>;
}

export interface PromptFit {
  tokens: number;
  contextSize: number;
  answerRoom: number;
}

export function emptyUsage(): Usage {
  return { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 };
}

/**
 * Span embedders. Every embedder returns unit-length Float32Arrays, so cosine similarity is a
 * plain dot product (span-sim.ts relies on it).
 *
 * - `LexicalEmbedder`: the offline fallback. The span is lower-cased, runs of whitespace are
 *   collapsed (and dropped between CJK characters, which the shared data writes space-separated),
 *   wrapped in boundary markers (`^span$`), cut into character n-grams (2..4 by default), and
 *   each n-gram is hashed (FNV-1a, 32 bit) into one of `dim` buckets (default 1024); counts are
 *   then L2-normalised. Strings that share many n-grams ("Germany" / "German") end up close;
 *   it captures spelling, not meaning.
 * - `EngineEmbedder`: any `Engine.embed` (OpenAI-compatible /v1/embeddings, node-llama-cpp
 *   embedding context), called in batches, with an in-memory cache text -> vector.
 */
import type { Engine } from '../engines/types.js';
import { compactCjk } from '../pos/cjk.js';

export interface SpanEmbedder {
  /** Stable identity for index manifests: changes whenever vectors would change. */
  readonly identity: string;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  if (s > 0) {
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < v.length; i++) v[i] *= inv;
  }
  return v;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface LexicalOptions {
  dim?: number;
  minN?: number;
  maxN?: number;
}

export class LexicalEmbedder implements SpanEmbedder {
  readonly dim: number;
  readonly minN: number;
  readonly maxN: number;
  readonly identity: string;

  constructor(opts: LexicalOptions = {}) {
    this.dim = opts.dim ?? 1024;
    this.minN = opts.minN ?? 2;
    this.maxN = opts.maxN ?? 4;
    if (!(this.dim > 0 && this.minN >= 1 && this.maxN >= this.minN))
      throw new Error('bad lexical embedder options');
    this.identity = `lexical-char-ngram:v1:dim=${this.dim}:n=${this.minN}-${this.maxN}`;
  }

  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dim);
    const s = `^${compactCjk(text.toLowerCase()).replace(/\s+/g, ' ').trim()}$`;
    // Code points, so surrogate pairs (emoji, rare CJK) count as one character.
    const cps: number[] = [];
    for (const ch of s) cps.push(ch.codePointAt(0)!);
    const L = cps.length;
    for (let i = 0; i < L; i++) {
      // FNV-1a over the code points of cps[i .. i+n-1], extended one character at a time.
      let h = 0x811c9dc5;
      for (let n = 1; n <= this.maxN && i + n <= L; n++) {
        h = Math.imul(h ^ cps[i + n - 1], 0x01000193);
        if (n >= this.minN) v[(h >>> 0) % this.dim] += 1;
      }
    }
    if (L < this.minN) v[fnv1a(s) % this.dim] += 1;
    return l2normalize(v);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }
}

export interface EngineEmbedderOptions {
  batchSize?: number;
  /** Upper bound on cached vectors (oldest entries are dropped first). */
  maxCache?: number;
  signal?: AbortSignal;
}

export class EngineEmbedder implements SpanEmbedder {
  readonly identity: string;
  private readonly cache = new Map<string, Float32Array>();
  private readonly batchSize: number;
  private readonly maxCache: number;
  /** Number of texts actually sent to the engine (cache misses). */
  sent = 0;

  constructor(
    private readonly engine: Pick<Engine, 'identity' | 'embed'>,
    private readonly opts: EngineEmbedderOptions = {},
  ) {
    this.identity = `engine:${engine.identity}`;
    this.batchSize = opts.batchSize ?? 64;
    this.maxCache = opts.maxCache ?? 200_000;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const missing: string[] = [];
    const fresh = new Map<string, Float32Array>();
    const seen = new Set<string>();
    for (const t of texts) {
      if (!this.cache.has(t) && !seen.has(t)) {
        seen.add(t);
        missing.push(t);
      }
    }
    for (let i = 0; i < missing.length; i += this.batchSize) {
      const batch = missing.slice(i, i + this.batchSize);
      const res = await this.engine.embed(batch, { signal: this.opts.signal, stage: 'retrieval' });
      if (res.vectors.length !== batch.length) {
        throw new Error(
          `engine ${this.engine.identity} returned ${res.vectors.length} vectors for ${batch.length} texts`,
        );
      }
      this.sent += batch.length;
      for (let j = 0; j < batch.length; j++) {
        const v = l2normalize(Float32Array.from(res.vectors[j]));
        fresh.set(batch[j], v);
        this.remember(batch[j], v);
      }
    }
    return texts.map((t) => fresh.get(t) ?? this.cache.get(t)!);
  }

  private remember(text: string, v: Float32Array): void {
    if (this.cache.size >= this.maxCache) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(text, v);
  }
}

/**
 * Response cache in SQLite (better-sqlite3, WAL). Each row is written in its own transaction
 * after a successful answer, so a crash mid-run leaves only complete rows behind.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CacheError } from './errors.js';
import type { ChatRequest, ChatResponse, EmbedResponse } from './types.js';

/** The parts of a chat request that change the answer (not `stage`, which only labels costs). */
export function normaliseChatRequest(r: ChatRequest): Record<string, unknown> {
  return {
    messages: r.messages.map((m) => ({ role: m.role, content: m.content })),
    schema: r.jsonSchema ?? null,
    temperature: r.temperature ?? null,
    seed: r.seed ?? null,
    maxTokens: r.maxTokens ?? null,
    stop: r.stop ?? null,
    logprobs: r.logprobs ?? false,
    topLogprobs: r.logprobs ? (r.topLogprobs ?? 0) : 0,
  };
}

/** JSON with object keys sorted, so equal requests hash equally whatever the key order. */
function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function chatCacheKey(identity: string, r: ChatRequest): string {
  return createHash('sha256')
    .update(stableStringify({ kind: 'chat', identity, request: normaliseChatRequest(r) }))
    .digest('hex');
}

export function embedCacheKey(identity: string, texts: string[]): string {
  return createHash('sha256')
    .update(stableStringify({ kind: 'embed', identity, texts }))
    .digest('hex');
}

type Stored =
  | { kind: 'chat'; response: ChatResponse }
  | { kind: 'embed'; vectors: number[][]; usage: EmbedResponse['usage'] };

export class ResponseCache {
  readonly path: string;
  hits = 0;
  misses = 0;
  private db!: Database.Database;
  private getStmt!: Database.Statement<[string], { response: string }>;
  private putTx!: (key: string, engine: string, response: string) => void;

  constructor(path: string) {
    this.path = path;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(
        'CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, engine TEXT NOT NULL, created INTEGER NOT NULL, response TEXT NOT NULL)',
      );
      this.getStmt = this.db.prepare('SELECT response FROM responses WHERE key = ?');
      const put = this.db.prepare(
        'INSERT OR REPLACE INTO responses (key, engine, created, response) VALUES (?, ?, ?, ?)',
      );
      this.putTx = this.db.transaction((key: string, engine: string, response: string) => {
        put.run(key, engine, Date.now(), response);
      });
    } catch (e) {
      this.db?.close();
      throw new CacheError(path, e);
    }
  }

  /** Runs a database call; its SQLite error names the cache file. */
  private named<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw new CacheError(this.path, e);
    }
  }

  private read(key: string): Stored | undefined {
    const row = this.named(() => this.getStmt.get(key));
    if (!row) {
      this.misses++;
      return undefined;
    }
    try {
      const v = JSON.parse(row.response) as Stored;
      this.hits++;
      return v;
    } catch {
      this.misses++;
      return undefined;
    }
  }

  getChat(key: string): ChatResponse | undefined {
    const v = this.read(key);
    return v?.kind === 'chat' ? v.response : undefined;
  }

  putChat(key: string, engine: string, response: ChatResponse): void {
    const { fromCache: _f, ...rest } = response;
    const value = JSON.stringify({ kind: 'chat', response: rest } satisfies Stored);
    this.named(() => this.putTx(key, engine, value));
  }

  getEmbed(key: string): { vectors: Float32Array[]; usage: EmbedResponse['usage'] } | undefined {
    const v = this.read(key);
    if (v?.kind !== 'embed') return undefined;
    return { vectors: v.vectors.map((a) => Float32Array.from(a)), usage: v.usage };
  }

  putEmbed(key: string, engine: string, response: EmbedResponse): void {
    const stored: Stored = {
      kind: 'embed',
      vectors: response.vectors.map((v) => Array.from(v)),
      usage: response.usage,
    };
    this.named(() => this.putTx(key, engine, JSON.stringify(stored)));
  }

  /** Number of stored rows. */
  size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM responses').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

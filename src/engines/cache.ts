/**
 * Response cache in SQLite (better-sqlite3, WAL). Each row is written in its own transaction
 * after a successful answer, so a crash mid-run leaves only complete rows behind.
 *
 * A cache is a cache: opening checks the file (`PRAGMA quick_check`) and refuses a damaged one
 * with a CacheError naming it; once open, a read that fails is a miss and a write that fails is
 * skipped, each said once in the log, never a model failure. A chat answer is stored once (its
 * text, logprobs and usage; the parsed JSON is read from the text again), and an answer longer
 * than MAX_STORED_CHARS is not stored at all.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CacheError } from './errors.js';
import type { ChatRequest, ChatResponse, EmbedResponse } from './types.js';

/** Chat answers longer than this are not stored (no NER answer is; they would only bloat the file). */
export const MAX_STORED_CHARS = 1024 * 1024;

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

type StoredChat = Pick<ChatResponse, 'text' | 'usage' | 'latencyMs'> &
  Pick<Partial<ChatResponse>, 'logprobs'>;

type Stored =
  | { kind: 'chat'; response: StoredChat }
  | { kind: 'embed'; vectors: number[][]; usage: EmbedResponse['usage'] };

export interface ResponseCacheOptions {
  /** Where the one-time notices of failed reads and writes go (default: stderr). */
  log?: (message: string) => void;
}

const stderrLog = (m: string) => process.stderr.write(`el4ner: ${m}\n`);

export class ResponseCache {
  readonly path: string;
  hits = 0;
  misses = 0;
  /** Reads and writes that failed (each treated as a miss / skipped). */
  readErrors = 0;
  writeErrors = 0;
  private db!: Database.Database;
  private getStmt!: Database.Statement<[string], { response: string }>;
  private putTx!: (key: string, engine: string, response: string) => void;
  private readonly log: (message: string) => void;
  private readonly said = new Set<string>();

  constructor(path: string, options: ResponseCacheOptions = {}) {
    this.path = path;
    this.log = options.log ?? stderrLog;
    try {
      const existing = path !== ':memory:' && existsSync(path) && statSync(path).size > 0;
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      this.db.pragma('busy_timeout = 5000');
      if (existing) {
        const problems = this.db.pragma('quick_check(3)', { simple: false }) as Array<Record<string, string>>;
        const text = problems.map((r) => Object.values(r)[0]).filter((v) => v !== 'ok');
        if (text.length > 0)
          throw Object.assign(new Error(`the file failed its integrity check: ${text.join('; ')}`), {
            code: 'SQLITE_CORRUPT',
          });
      }
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
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
      if (this.db?.open) this.db.close();
      throw e instanceof CacheError ? e : new CacheError(path, e);
    }
  }

  /** Logs a notice once per kind. */
  private once(kind: string, message: string): void {
    if (this.said.has(kind)) return;
    this.said.add(kind);
    this.log(message);
  }

  private read(key: string): Stored | undefined {
    let row: { response: string } | undefined;
    try {
      row = this.getStmt.get(key);
    } catch (e) {
      this.readErrors++;
      this.misses++;
      this.once(
        'read',
        `${new CacheError(this.path, e).message.replace(/;.*$/, '')}: a read failed, treated as a miss (further read errors are not shown)`,
      );
      return undefined;
    }
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
      this.once('row', `response cache ${this.path}: a stored row is not JSON, treated as a miss`);
      return undefined;
    }
  }

  private write(key: string, engine: string, value: string): void {
    try {
      this.putTx(key, engine, value);
    } catch (e) {
      this.writeErrors++;
      this.once(
        'write',
        `${new CacheError(this.path, e).message.replace(/;.*$/, '')}: an answer could not be stored (the run goes on; further write errors are not shown)`,
      );
    }
  }

  getChat(key: string): ChatResponse | undefined {
    const v = this.read(key);
    if (v?.kind !== 'chat' || typeof v.response?.text !== 'string') return undefined;
    return v.response;
  }

  /** Stores the answer's text, logprobs and usage (not the parsed JSON, not the call's bookkeeping). */
  putChat(key: string, engine: string, response: ChatResponse): void {
    if (response.text.length > MAX_STORED_CHARS) return;
    const stored: StoredChat = {
      text: response.text,
      usage: response.usage,
      latencyMs: response.latencyMs,
      ...(response.logprobs ? { logprobs: response.logprobs } : {}),
    };
    this.write(key, engine, JSON.stringify({ kind: 'chat', response: stored } satisfies Stored));
  }

  getEmbed(key: string): { vectors: Float32Array[]; usage: EmbedResponse['usage'] } | undefined {
    const v = this.read(key);
    if (v?.kind !== 'embed' || !Array.isArray(v.vectors)) return undefined;
    return { vectors: v.vectors.map((a) => Float32Array.from(a)), usage: v.usage };
  }

  putEmbed(key: string, engine: string, response: EmbedResponse): void {
    const stored: Stored = {
      kind: 'embed',
      vectors: response.vectors.map((v) => Array.from(v)),
      usage: response.usage,
    };
    this.write(key, engine, JSON.stringify(stored));
  }

  /** Number of stored rows. */
  size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM responses').get() as { n: number }).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

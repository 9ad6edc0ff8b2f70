import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { chatCacheKey, embedCacheKey, ResponseCache } from '../../src/engines/cache.js';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'el4ner-cache-'));

describe('cache keys', () => {
  const base = { messages: [{ role: 'user' as const, content: 'hi' }], temperature: 0, maxTokens: 10 };
  it('are equal for equal requests whatever the key order or stage', () => {
    const a = chatCacheKey('id', base);
    const b = chatCacheKey('id', {
      maxTokens: 10,
      temperature: 0,
      messages: [{ content: 'hi', role: 'user' }],
      stage: 'extract',
    });
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{64}$/);
  });
  it('change with identity, messages, schema, temperature, seed, max tokens, stop and logprobs', () => {
    const k = chatCacheKey('id', base);
    const variants = [
      chatCacheKey('id2', base),
      chatCacheKey('id', { ...base, messages: [{ role: 'user', content: 'hi!' }] }),
      chatCacheKey('id', { ...base, jsonSchema: { name: 'a', schema: { type: 'object' } } }),
      chatCacheKey('id', { ...base, temperature: 0.5 }),
      chatCacheKey('id', { ...base, seed: 1 }),
      chatCacheKey('id', { ...base, maxTokens: 11 }),
      chatCacheKey('id', { ...base, stop: ['\n'] }),
      chatCacheKey('id', { ...base, logprobs: true, topLogprobs: 3 }),
    ];
    assert.equal(new Set([k, ...variants]).size, variants.length + 1);
    assert.notEqual(embedCacheKey('id', ['a', 'b']), embedCacheKey('id', ['a', 'c']));
  });
});

describe('ResponseCache', () => {
  it('stores chat answers and embeddings, counts hits and misses, persists across reopen', () => {
    const dir = tmp();
    try {
      const path = join(dir, 'sub', 'c.sqlite');
      const c = new ResponseCache(path);
      assert.equal(c.getChat('a'), undefined);
      c.putChat('a', 'eng', {
        text: 't',
        json: { x: 1 },
        usage: { promptTokens: 1, completionTokens: 2, cachedPromptTokens: 0 },
        latencyMs: 5,
        fromCache: false,
      });
      c.putEmbed('e', 'eng', {
        vectors: [Float32Array.from([0.5, -1])],
        usage: { promptTokens: 1, completionTokens: 0, cachedPromptTokens: 0 },
        latencyMs: 1,
      });
      const got = c.getChat('a');
      assert.equal(got?.text, 't');
      assert.equal(got?.json, undefined, 'the parsed JSON is not stored beside the text');
      assert.equal(c.hits, 1);
      assert.equal(c.misses, 1);
      c.close();
      const c2 = new ResponseCache(path);
      assert.equal(c2.size(), 2);
      assert.equal(c2.getChat('a')?.text, 't');
      assert.deepEqual(Array.from(c2.getEmbed('e')?.vectors[0] ?? []), [0.5, -1]);
      assert.equal(c2.getEmbed('a'), undefined, 'a chat row is not an embedding');
      const db = new Database(path);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      db.close();
      c2.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('survives SIGKILL mid-run: integrity ok and every completed row readable', async () => {
    const dir = tmp();
    try {
      const path = join(dir, 'crash.sqlite');
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', resolve(here, 'fixtures/cache-writer.ts'), path],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const done: string[] = [];
      let buf = '';
      await new Promise<void>((resolveKill, reject) => {
        child.on('error', reject);
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop() ?? '';
          done.push(...lines.filter(Boolean));
          if (done.length >= 300 && !child.killed) {
            child.kill('SIGKILL');
          }
        });
        child.on('exit', (_code, signal) => {
          if (signal === 'SIGKILL') resolveKill();
          else reject(new Error(`writer exited without being killed (${signal})`));
        });
      });
      assert.ok(done.length >= 300);
      const db = new Database(path);
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      db.close();
      const c = new ResponseCache(path);
      for (const key of done) {
        const r = c.getChat(key);
        assert.ok(r, `row ${key} missing`);
        assert.equal(r.text.split(' ')[1], key.slice(1));
      }
      assert.ok(c.size() >= done.length);
      c.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

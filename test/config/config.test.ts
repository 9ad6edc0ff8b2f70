import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';

test('a YAML config loads with defaults and resolves relative paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-cfg-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(
    file,
    [
      'models:',
      '  - name: qwen',
      '    engine: openai',
      '    baseUrl: http://127.0.0.1:8000/v1',
      '    model: Qwen2.5-14B-Instruct',
      '    apiKeyEnv: OPENAI_API_KEY',
      '    concurrency: 8',
      '  - name: local',
      '    engine: llama-cpp',
      '    path: ./models/q.gguf',
      'pool: data/train.jsonl',
      'verifier: qwen',
      'retrieval: {mode: span-level, k: 4}',
    ].join('\n'),
  );
  const cfg = loadConfig(file);
  assert.equal(cfg.models.length, 2);
  assert.equal(cfg.retrieval.k, 4);
  assert.equal(cfg.stages.verification, true);
  assert.equal(cfg.pool, join(dir, 'data/train.jsonl'));
  const local = cfg.models[1];
  assert.equal(local.engine, 'llama-cpp');
  if (local.engine === 'llama-cpp') assert.equal(local.path, join(dir, 'models/q.gguf'));
});

test('errors point at the key', () => {
  assert.throws(
    () => parseConfig({ models: [{ name: 'a', engine: 'openai', baseUrl: 'x', model: 'm' }] }, 'c.yaml'),
    (e: unknown) => e instanceof ConfigError && /c\.yaml: models\[0\]\.baseUrl/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ verifier: 'ghost' }, 'c.yaml'),
    (e: unknown) => e instanceof ConfigError && /verifier: no model named "ghost"/.test(e.message),
  );
  assert.throws(
    () => parseConfig({ retrival: {} }, 'c.yaml'),
    (e: unknown) => e instanceof ConfigError && /retrival/.test(e.message),
  );
});

test('YAML syntax errors carry the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-cfg-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'models:\n  - name: a\n   engine: [\n');
  assert.throws(
    () => loadConfig(file),
    (e: unknown) => e instanceof ConfigError && /bad\.yaml:\d+/.test(e.message),
  );
});

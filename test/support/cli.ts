/** Runs the real command line (`node bin/el4ner.js`) for tests, and trains a small CRF to run it with. */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { NerDocument } from '../../src/core/types.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const bin = join(repoRoot, 'bin', 'el4ner.js');
export const conllDir = resolve(repoRoot, '../shared/data/conll2003');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export function el4ner(args: string[], opts: CliOptions = {}): CliResult {
  const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    cwd: opts.cwd ?? repoRoot,
    input: opts.input,
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking the test's event loop (servers in the test process keep answering). */
export function el4nerAsync(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export const tmpDir = (prefix = 'el4ner-cli-') => mkdtempSync(join(tmpdir(), prefix));

/** The first `n` lines of a CoNLL-2003 split (the shared JSONL, with tokens and entities). */
export function conllLines(split: 'train' | 'dev' | 'test', n: number): string[] {
  return readFileSync(join(conllDir, `${split}.jsonl`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, n);
}

const trained = new Map<string, string>();

/** A CRF trained through `el4ner train-slm` on the first `sentences` CoNLL-2003 train sentences. */
export function trainSmallCrf(sentences = 300, maxIter = 25): string {
  const key = `${sentences}:${maxIter}`;
  const done = trained.get(key);
  if (done) return done;
  const dir = tmpDir('el4ner-crf-');
  const pool = join(dir, 'pool.jsonl');
  writeFileSync(pool, `${conllLines('train', sentences).join('\n')}\n`);
  const model = join(dir, 'small.crf');
  const r = el4ner(['train-slm', '--pool', pool, '--out', model, '--max-iter', String(maxIter)]);
  if (r.code !== 0) throw new Error(`train-slm failed: ${r.stderr}`);
  trained.set(key, model);
  return model;
}

/** A CRF-only config file (the offline default) for `model`, written beside it. */
export function offlineConfig(model: string): string {
  const p = `${model}.offline.json`;
  writeFileSync(p, JSON.stringify({ fusion: { slm: model } }));
  return p;
}

/** True when the text shows a JavaScript stack trace. */
export const hasStack = (text: string) => /\n\s+at .+\(.+:\d+:\d+\)/.test(text);

/** Documents as JSONL text. */
export const jsonl = (docs: readonly object[]) => `${docs.map((d) => JSON.stringify(d)).join('\n')}\n`;

/** The rows of a JSONL file the CLI wrote. */
export const readRows = (file: string): NerDocument[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as NerDocument);

/** A document's entities as `start:end:type` keys, to compare outputs. */
export const spanKeys = (d: { entities: NerDocument['entities'] }) =>
  d.entities.map((e) => `${e.start}:${e.end}:${e.type}`);

/** `text` as a regular expression that matches it literally (a path in a message, say). */
export const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

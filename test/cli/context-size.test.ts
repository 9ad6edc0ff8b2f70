/**
 * An embedded GGUF model whose contextSize cannot hold the fixed part of every prompt (the
 * instructions, the labels and k demonstrations) is refused at start-up, naming the size to give,
 * instead of each document failing and the run writing degraded rows.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { bin, conllLines, el4nerAsync, hasStack, repoRoot, tmpDir } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { startTestRedis } from '../support/redis.js';

const MODEL = resolve(repoRoot, '../shared/fixtures/models/tiny-random-llama.gguf');

/** A folder with a pool and a config whose llama-cpp model has a 256-token context (or what `model` and `rest` say). */
function smallContext(
  model: Record<string, unknown> = {},
  rest: Record<string, unknown> = {},
): { dir: string; config: string } {
  const dir = tmpDir('el4ner-context-');
  writeFileSync(join(dir, 'pool.jsonl'), `${conllLines('train', 40).join('\n')}\n`);
  const config = join(dir, 'c.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: [
        {
          name: 'local',
          engine: 'llama-cpp',
          path: MODEL,
          gpu: false,
          build: 'never',
          contextSize: 256,
          ...model,
        },
      ],
      pool: 'pool.jsonl',
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      retrieval: { k: 5 },
      cache: { enabled: false },
      ...rest,
    }),
  );
  return { dir, config };
}

const TOO_SMALL =
  /model "local": contextSize 256 is too small for its prompts: the instructions and labels take (\d+) tokens/;

test('run: a llama-cpp contextSize smaller than instructions + k demonstrations fails at start-up (exit 2) with the size to raise it to', async () => {
  const { dir, config } = smallContext();
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, `${conllLines('dev', 2).join('\n')}\n`);
  const out = join(dir, 'out.jsonl');
  const r = await el4nerAsync(['run', '--config', config, '--input', input, '--output', out]);
  assert.equal(r.code, 2, r.stderr);
  const m = r.stderr.match(
    /^el4ner: model "local": contextSize 256 is too small for its prompts: the instructions and labels take (\d+) tokens and 5 demonstration\(s\) \(retrieval\.k = 5\) at least (\d+) more, (\d+) before any sentence or answer; raise contextSize in the config to (\d+) or more, or lower retrieval\.k$/m,
  );
  assert.ok(m, r.stderr);
  assert.equal(Number(m[1]) + Number(m[2]), Number(m[3]));
  assert.ok(Number(m[4]) > Number(m[3]));
  assert.ok(!hasStack(r.stderr), r.stderr);
  assert.doesNotMatch(r.stderr, /documents: |written to/);
  assert.ok(!existsSync(out) || readFileSync(out, 'utf8') === '', 'no row written');
});

test('run: a GGUF file that passes the magic-bytes check but cannot be loaded (truncated) stops at start-up (exit 2), not at every document', async () => {
  const dir = tmpDir('el4ner-context-');
  writeFileSync(join(dir, 'trunc.gguf'), readFileSync(MODEL).subarray(0, 2000));
  const config = join(dir, 'c.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: [{ name: 'local', engine: 'llama-cpp', path: 'trunc.gguf', gpu: false, build: 'never' }],
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      cache: { enabled: false },
    }),
  );
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, `${conllLines('dev', 2).join('\n')}\n`);
  const out = join(dir, 'out.jsonl');
  const r = await el4nerAsync(['run', '--config', config, '--input', input, '--output', out]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /^el4ner: model "local": .*cannot load .*trunc\.gguf: .*\(a truncated or broken GGUF file, or a model this llama\.cpp cannot run\)$/m,
  );
  assert.ok(!hasStack(r.stderr), r.stderr);
  assert.ok(!existsSync(out) || readFileSync(out, 'utf8') === '', 'no row written');
});

test('serve: the same too small contextSize makes /readyz not ready, and the server log says it in one line (no stack)', async (t) => {
  const { config } = smallContext();
  const port = String(await freePort());
  const child = spawn(process.execPath, [bin, 'serve', '--config', config, '--port', port], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
  });
  const deadline = Date.now() + 90_000;
  while (!/error \w+: the method cannot be built/.test(stderr) && !exited && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  const url = stderr.match(/serving on (http:\/\/\S+)/)?.[1];
  assert.ok(url, stderr);
  const ready = await fetch(`${url}/readyz`);
  assert.equal(ready.status, 503);
  assert.match(await ready.text(), /the method cannot be built from the config/);
  const line = stderr.split('\n').find((l) => l.includes('the method cannot be built'));
  assert.match(line ?? '', TOO_SMALL, stderr);
  assert.ok(!hasStack(stderr), stderr);
});

test('worker: the same too small contextSize stops the worker at start-up (exit 2, one line)', async (t) => {
  const redis = await startTestRedis();
  t.after(() => redis.stop());
  const { config } = smallContext();
  const r = await el4nerAsync(['worker', '--config', config, '--redis', redis.url]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^el4ner: ${TOO_SMALL.source}`, 'm'));
  assert.ok(!hasStack(r.stderr), r.stderr);
});

test('run: a sentence whose k demonstrations overflow the context is asked with fewer, the least similar left out, and the row says so (not a failed call)', async () => {
  // the smallest prompt (instructions + the 5 shortest demonstrations) fits 3000 tokens; the 5 most
  // similar ones do not; maxTokens 16 and no verification keep the test to one short answer
  const { dir, config } = smallContext(
    { contextSize: 3000, maxTokens: 16 },
    { stages: { retrieval: 'sentence-embedding', verification: false } },
  );
  const input = join(dir, 'in.jsonl');
  writeFileSync(
    input,
    `${JSON.stringify({ id: 'a', text: 'Germany beat France in Brussels on Friday.' })}\n`,
  );
  const out = join(dir, 'out.jsonl');
  const r = await el4nerAsync(['run', '--config', config, '--input', input, '--output', out]);
  assert.equal(r.code, 0, r.stderr);
  const row = JSON.parse(readFileSync(out, 'utf8')) as {
    degraded?: boolean;
    warnings?: { kind: string; stage: string; message: string }[];
  };
  assert.ok(!row.degraded, JSON.stringify(row));
  const warnings = row.warnings ?? [];
  assert.ok(!warnings.some((w) => w.kind === 'failed'), JSON.stringify(warnings));
  const fitted = warnings
    .map((w) =>
      w.message.match(/demonstrations left out: (\d+) to fit contextSize 3000 \((\d+) prompt tokens\)/),
    )
    .find((m) => m);
  assert.ok(fitted, JSON.stringify(warnings));
  const [dropped, tokens] = [Number(fitted[1]), Number(fitted[2])];
  assert.ok(dropped >= 1 && dropped < 5, `${dropped} of 5 left out: some kept`);
  assert.ok(tokens < 3000);
  assert.match(r.stderr, /needed repairs in 1 answer\(s\) of stage extract: .*demonstrations left out 1x/);
});

/** What a user reaches for: `run`, `eval` and `serve --slm` without a YAML, required options marked in --help, the llama-cpp keys the docs name. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { LlamaCppModelConfig } from '../../src/config/schema.js';
import { ConfigError } from '../../src/core/errors.js';
import { llamaCppOptions } from '../../src/engines/kinds.js';
import { bin, conllLines, el4ner, hasStack, tmpDir, trainSmallCrf } from '../support/cli.js';
import { freePort } from '../support/ports.js';

const dir = tmpDir('el4ner-shortcuts-');

test('run --slm model.crf tags without a config file, exactly as the CRF-only config does', () => {
  const crf = trainSmallCrf();
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, `${conllLines('test', 30).join('\n')}\n`);
  const config = join(dir, 'offline.yaml');
  writeFileSync(config, `fusion:\n  slm: ${crf}\n`);
  const a = el4ner(['run', '--config', config, '--input', input, '--output', join(dir, 'a.jsonl')]);
  const b = el4ner(['run', '--slm', crf, '--input', input, '--output', join(dir, 'b.jsonl')]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(readFileSync(join(dir, 'b.jsonl'), 'utf8'), readFileSync(join(dir, 'a.jsonl'), 'utf8'));
  const neither = el4ner(['run', '--input', input, '--output', '-']);
  assert.equal(neither.code, 2);
  assert.match(neither.stderr, /give --config \(a YAML or JSON file\) or --slm \(a CRF model\)/);
  assert.ok(!hasStack(neither.stderr));
});

test('eval --slm model.crf scores the CRF alone as the CRF-only config does', () => {
  const crf = trainSmallCrf();
  const gold = join(dir, 'gold.jsonl');
  writeFileSync(gold, `${conllLines('dev', 40).join('\n')}\n`);
  const config = join(dir, 'offline-eval.yaml');
  writeFileSync(config, `fusion:\n  slm: ${crf}\n`);
  const a = el4ner(['eval', '--config', config, '--test', gold]);
  const b = el4ner(['eval', '--slm', crf, '--test', gold]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /^strict\s+\d+/m);
  assert.equal(b.stdout, a.stdout);
  const neither = el4ner(['eval', '--test', gold]);
  assert.equal(neither.code, 2);
  assert.match(neither.stderr, /give --config \(a YAML or JSON file\) or --slm \(a CRF model\)/);
});

test('serve --slm model.crf answers /v1/ner with what run --slm writes', async () => {
  const crf = trainSmallCrf();
  const input = join(dir, 'serve-in.jsonl');
  const lines = conllLines('test', 12);
  writeFileSync(input, `${lines.join('\n')}\n`);
  const out = join(dir, 'serve-run.jsonl');
  const ran = el4ner(['run', '--slm', crf, '--input', input, '--output', out]);
  assert.equal(ran.code, 0, ran.stderr);
  const expected = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { text: string; entities: { start: number; end: number; type: string }[] });
  assert.ok(
    expected.some((r) => r.entities.length > 0),
    'the CRF finds some entities to compare',
  );

  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'serve', '--slm', crf, '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  try {
    await new Promise<void>((resolveUp, reject) => {
      child.stderr.setEncoding('utf8').on('data', (d) => {
        stderr += d;
        if (/serving on /.test(stderr)) resolveUp();
      });
      child.on('close', () => reject(new Error(`serve ended: ${stderr}`)));
    });
    const res = await fetch(`http://127.0.0.1:${port}/v1/ner`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts: expected.map((r) => r.text) }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      results: { entities: { start: number; end: number; type: string }[] }[];
    };
    const spans = (es: { start: number; end: number; type: string }[]) =>
      es.map((e) => `${e.start}-${e.end}:${e.type}`);
    assert.deepEqual(
      body.results.map((r) => spans(r.entities)),
      expected.map((r) => spans(r.entities)),
    );
  } finally {
    child.kill('SIGTERM');
    await closed;
  }
  assert.match(stderr, /tagging with the supervised CRF alone/);
});

test('--help marks the required options of every command', () => {
  const top = el4ner(['--help']).stdout;
  const commands = [...top.matchAll(/^ {2}([a-z][a-z-]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
  assert.ok(commands.length >= 15, top);
  let marked = 0;
  for (const c of commands) {
    const help = el4ner([c, '--help']).stdout;
    // commander lists each option on one or more lines; join them to see each whole
    const options = help
      .split(/\n(?= {2}-)/)
      .filter((o) => o.trimStart().startsWith('-'))
      .map((o) => o.replace(/\s+/g, ' '));
    for (const o of options) if (/\(required/.test(o)) marked++;
  }
  const run = el4ner(['run', '--help']).stdout.replace(/\s+/g, ' ');
  assert.match(run, /--input <path> .*\(required\)/);
  for (const c of ['run', 'eval', 'serve'])
    assert.match(
      el4ner([c, '--help']).stdout.replace(/\s+/g, ' '),
      /--config <file> .*\(required unless --slm\)/,
      c,
    );
  assert.match(
    el4ner(['train-slm', '--help']).stdout.replace(/\s+/g, ' '),
    /--out <file> model file to write \(required\)/,
  );
  assert.ok(marked >= 20, `${marked} required options marked`);
});

test('the llama-cpp keys the docs name (gpu, build, download, hfEndpoint, probeTimeoutMs) are config keys and reach the engine', async () => {
  const cfg = parseConfig({
    models: [
      {
        name: 'local',
        engine: 'llama-cpp',
        path: 'hf:nobody/nothing/model.gguf',
        gpu: false,
        build: 'never',
        download: false,
        hfEndpoint: 'http://127.0.0.1:9',
        probeTimeoutMs: 800,
      },
    ],
  });
  const o = llamaCppOptions(cfg.models[0] as LlamaCppModelConfig);
  assert.deepEqual(
    {
      gpu: o.gpu,
      build: o.build,
      download: o.download,
      hfEndpoint: o.hfEndpoint,
      probeTimeoutMs: o.probeTimeoutMs,
    },
    { gpu: false, build: 'never', download: false, hfEndpoint: 'http://127.0.0.1:9', probeTimeoutMs: 800 },
  );
  assert.throws(
    () => parseConfig({ models: [{ name: 'x', engine: 'llama-cpp', path: 'a.gguf', gpuLayers: 3 }] }),
    (e: unknown) => e instanceof ConfigError && /gpuLayers/.test(e.message),
  );

  // and they change what the engine does: no download at all, or a download from the given hub
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
  const port = (closed.address() as { port: number }).port;
  await new Promise((r) => closed.close(r));
  const configWith = (extra: Record<string, unknown>) => {
    const p = join(dir, `llama-${Object.keys(extra).join('-')}.json`);
    writeFileSync(
      p,
      JSON.stringify({
        models: [
          {
            name: 'local',
            engine: 'llama-cpp',
            path: 'hf:nobody/nothing/model.gguf',
            modelCacheDir: join(dir, 'models'),
            maxAttempts: 1,
            ...extra,
          },
        ],
        labels: ['PER', 'LOC'],
        cache: { enabled: false },
      }),
    );
    return p;
  };
  // `el4ner doctor` shows why a model cannot serve (a run only says that no model answered)
  const noDownload = el4ner(['doctor', '--config', configWith({ download: false })]);
  assert.equal(noDownload.code, 4, noDownload.stderr);
  assert.match(
    noDownload.stdout,
    /hf:nobody\/nothing\/model\.gguf is not in the model cache and downloads are disabled/,
  );
  const hub = el4ner([
    'doctor',
    '--config',
    configWith({ hfEndpoint: `http://127.0.0.1:${port}`, probeTimeoutMs: 2000 }),
  ]);
  assert.match(hub.stdout, new RegExp(`http://127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\)`));
});

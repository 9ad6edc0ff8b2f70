/**
 * The start-up check of an HTTP model reads GET {baseUrl}/models: a server that answers it with
 * something that is not an OpenAI model list (a chat web UI, a proxy's page at the wrong port)
 * cannot serve a run, and is refused before the first document instead of costing every one.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { conllLines, el4nerAsync, hasStack, readRows, tmpDir, trainSmallCrf } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { startWebPageServer } from '../support/web-page-server.js';

test('run: a baseUrl whose GET /models is a web page fails the start-up check (exit 4), naming the model and baseUrl', async (t) => {
  const page = await startWebPageServer();
  t.after(() => page.close());
  const dir = tmpDir('el4ner-preflight-');
  const config = join(dir, 'ui.json');
  writeFileSync(
    config,
    JSON.stringify({
      labels: ['PER', 'LOC', 'ORG', 'MISC'],
      cache: { enabled: false },
      models: [{ name: 'ui', engine: 'openai', baseUrl: page.url, model: 'm' }],
    }),
  );
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, `${conllLines('dev', 3).join('\n')}\n`);
  const out = join(dir, 'out.jsonl');
  const r = await el4nerAsync(['run', '--config', config, '--input', input, '--output', out]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /start-up checks failed/);
  assert.match(
    r.stderr,
    /model ui: .*GET \/models is not an OpenAI model list: "<!doctype html>.*"; check baseUrl/,
  );
  assert.ok(!hasStack(r.stderr), r.stderr);
  assert.ok(!existsSync(out) || readFileSync(out, 'utf8') === '', 'no row written');
  assert.equal(page.requests.length, 0, 'no chat request was sent');
});

test('run: a start-up check that fails (no server at the port) leaves no file behind, and an earlier output as it was', async () => {
  const dir = tmpDir('el4ner-preflight-');
  const config = join(dir, 'down.json');
  const port = await freePort();
  writeFileSync(
    config,
    JSON.stringify({
      labels: ['PER', 'LOC', 'ORG', 'MISC'],
      cache: { enabled: false },
      models: [{ name: 'down', engine: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' }],
    }),
  );
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, `${conllLines('dev', 3).join('\n')}\n`);
  const out = join(dir, 'out.jsonl');
  const failed = await el4nerAsync(['run', '--config', config, '--input', input, '--output', out]);
  assert.equal(failed.code, 4, failed.stderr);
  assert.match(failed.stderr, /start-up checks failed/);
  assert.deepEqual(readdirSync(dir).sort(), ['down.json', 'in.jsonl'], 'no output, record or lock left');

  const ok = await el4nerAsync(['run', '--slm', trainSmallCrf(), '--input', input, '--output', out]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(readRows(out).length, 3);
  const rows = readFileSync(out, 'utf8');
  const record = readFileSync(`${out}.run.json`, 'utf8');

  // --overwrite would start the output over: not before the run can tag anything
  const again = await el4nerAsync([
    'run',
    '--config',
    config,
    '--input',
    input,
    '--output',
    out,
    '--overwrite',
  ]);
  assert.equal(again.code, 4, again.stderr);
  assert.equal(readFileSync(out, 'utf8'), rows, 'the earlier output is untouched');
  assert.equal(readFileSync(`${out}.run.json`, 'utf8'), record, 'its record too');
  assert.ok(!existsSync(`${out}.lock`));
});

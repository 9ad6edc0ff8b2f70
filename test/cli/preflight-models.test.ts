/**
 * The start-up check of an HTTP model reads GET {baseUrl}/models: a server that answers it with
 * something that is not an OpenAI model list (a chat web UI, a proxy's page at the wrong port)
 * cannot serve a run, and is refused before the first document instead of costing every one.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { conllLines, el4nerAsync, hasStack, tmpDir } from '../support/cli.js';
import { startScriptedServer } from '../support/scripted-server.js';

test('run: a baseUrl whose GET /models is a web page fails the start-up check (exit 4), naming the model and baseUrl', async (t) => {
  const page = await startScriptedServer({
    chat: () => ({ content: 'Paris' }),
    modelsReply: () => ({
      rawBody: '<!doctype html><html><body>Chat UI</body></html>',
      headers: { 'content-type': 'text/html' },
    }),
  });
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

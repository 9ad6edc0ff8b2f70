/**
 * Ctrl-C in `el4ner run` before any document is finished: nothing is created or changed
 * (openRunOutput writes from the first row), and the message says so instead of offering to resume
 * "0 finished documents". The real CLI in a terminal over a slow scripted server.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cleanSample, dataDir, openaiModel, oracleHandler, readJsonl } from '../experts/helpers.js';
import { literal, tmpDir } from '../support/cli.js';
import {
  type ScriptedRequest,
  type ScriptedServer,
  scriptByModel,
  startScriptedServer,
} from '../support/scripted-server.js';
import { assertCursorShownAgain, interruptInTerminal } from '../support/slow-world.js';

const docs = cleanSample(readJsonl(join(dataDir, 'conll2003/dev.jsonl')), 3);
let server: ScriptedServer;
let dir: string;
let config: string;
let input: string;

before(async () => {
  const answer = oracleHandler(docs, {});
  // slow enough that no document can be finished between the first request and the Ctrl-C
  const slow = (req: ScriptedRequest) =>
    new Promise<ReturnType<typeof answer>>((r) => setTimeout(() => r(answer(req)), 1500));
  server = await startScriptedServer({ chat: scriptByModel({ a: slow }) });
  dir = tmpDir('el4ner-run-interrupt-');
  input = join(dir, 'in.jsonl');
  writeFileSync(input, docs.map((d) => `${JSON.stringify({ id: d.id, text: d.text })}\n`).join(''));
  config = join(dir, 'el4ner.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: [openaiModel(server.url, 'a')],
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      cache: { enabled: false },
      concurrency: 1,
    }),
  );
});
after(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('Ctrl-C before the first document is finished: nothing written, no resume offered; an earlier output stays as it was', async () => {
  const out = join(dir, 'out.jsonl');
  const first = await interruptInTerminal(
    ['run', '--config', config, '--input', input, '--output', out],
    server,
    1,
  );
  assert.equal(first.code, 130, first.screen);
  assert.match(
    first.screen,
    new RegExp(
      `SIGINT: stopped before the first document was finished; nothing was written to ${literal(out)}`,
    ),
  );
  assert.doesNotMatch(first.screen, /run the same command again to resume/);
  assertCursorShownAgain(first.screen);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('out.jsonl')),
    [],
    'no output, record or lock',
  );

  // an output from before, started over with --overwrite and stopped at once, is left as it was
  const earlier = join(dir, 'earlier.jsonl');
  writeFileSync(earlier, '{"id":"x","text":"kept","entities":[]}\n');
  const again = await interruptInTerminal(
    ['run', '--config', config, '--input', input, '--output', earlier, '--overwrite'],
    server,
    1,
  );
  assert.equal(again.code, 130, again.screen);
  assert.match(again.screen, /nothing was written to/);
  assert.equal(readFileSync(earlier, 'utf8'), '{"id":"x","text":"kept","entities":[]}\n');
  assert.ok(!existsSync(`${earlier}.lock`));
});

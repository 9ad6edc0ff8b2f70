/** kill -9 during `el4ner run` on 2,000 documents, then a rerun: exactly 2,000 rows, each once, all valid JSON. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readGold, repoRoot, startOracleServer } from '../support/oracle-server.js';
import type { ScriptedServer } from '../support/scripted-server.js';

const N = 2000;
let backend: ScriptedServer | undefined;
after(async () => {
  await backend?.close();
});

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

test('a run killed with SIGKILL and started again writes every document exactly once', {
  timeout: 300_000,
}, async () => {
  const gold = readGold('conll2003', 'test', 300);
  backend = await startOracleServer(gold);
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-resume-'));
  const input = join(dir, 'input.jsonl');
  writeFileSync(
    input,
    `${Array.from({ length: N }, (_, i) => JSON.stringify({ id: `r${i}`, text: gold[i % gold.length].text })).join('\n')}\n`,
  );
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: [{ name: 'a', engine: 'openai', baseUrl: backend.url, model: 'a', concurrency: 4 }],
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      concurrency: 4,
      cache: { enabled: false },
    }),
  );
  const out = join(dir, 'out.jsonl');
  const args = [
    join(repoRoot, 'bin', 'el4ner.js'),
    'run',
    '--config',
    config,
    '--input',
    input,
    '--output',
    out,
  ];

  const first: ChildProcess = spawn(process.execPath, args, { stdio: 'ignore' });
  const deadline = Date.now() + 120_000;
  while (lines(out).length < 300 && Date.now() < deadline && first.exitCode === null)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(first.exitCode, null, 'the first run should still be running when it is killed');
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const before = lines(out).length;
  assert.ok(before >= 300 && before < N, `killed mid-run after ${before} rows`);

  const second = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  second.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise((r) => second.once('exit', r));
  assert.equal(code, 0, err);
  assert.match(err, /already in .*skipped/);

  const rows = lines(out).map((l) => JSON.parse(l));
  assert.equal(rows.length, N);
  const ids = new Set(rows.map((r) => r.id));
  assert.equal(ids.size, N);
  for (let i = 0; i < N; i++) assert.ok(ids.has(`r${i}`));
  assert.ok(rows.every((r) => Array.isArray(r.entities)));
});

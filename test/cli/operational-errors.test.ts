/**
 * Operational errors are one clear line and a distinct exit code, with a stack trace only under
 * --verbose; Ctrl-C says what was written and how to resume, and gives the terminal its cursor back.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bin, conllLines, el4ner, el4nerAsync, hasStack, tmpDir, trainSmallCrf } from '../support/cli.js';
import { goldByText, oracleAnswer } from '../support/oracle.js';
import { readGold, schemaName } from '../support/oracle-server.js';
import { freePort } from '../support/ports.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';
import { type ScriptedServer, startScriptedServer } from '../support/scripted-server.js';

function oneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.startsWith('el4ner: '));
  assert.ok(
    lines.some((l) => pattern.test(l)),
    `expected a line matching ${pattern} in:\n${stderr}`,
  );
  assert.ok(!hasStack(stderr), `no stack trace without --verbose:\n${stderr}`);
}

describe('operational errors', () => {
  let dir: string;
  let crf: string;
  let docs: string;
  let offline: string;
  let redis: TestRedis;
  let llm: ScriptedServer;
  let llmConfig: string;

  before(async () => {
    dir = tmpDir('el4ner-errors-');
    crf = trainSmallCrf();
    docs = join(dir, 'docs.jsonl');
    writeFileSync(
      docs,
      `${conllLines('test', 60)
        .map((l) => {
          const o = JSON.parse(l);
          return JSON.stringify({ id: o.id, text: o.text });
        })
        .join('\n')}\n`,
    );
    offline = join(dir, 'offline.json');
    writeFileSync(offline, JSON.stringify({ fusion: { slm: crf } }));
    redis = await startTestRedis();
    const byText = goldByText(readGold('conll2003', 'test', 60));
    llm = await startScriptedServer({
      chat: async (req) => {
        await new Promise((r) => setTimeout(r, 60));
        return { json: oracleAnswer(byText, {}, req.messages, schemaName(req)) };
      },
    });
    llmConfig = join(dir, 'llm.json');
    writeFileSync(
      llmConfig,
      JSON.stringify({
        models: [{ name: 'a', engine: 'openai', baseUrl: llm.url, model: 'a', concurrency: 1 }],
        labels: ['LOC', 'MISC', 'ORG', 'PER'],
        concurrency: 1,
        cache: { enabled: false },
      }),
    );
  });
  after(async () => {
    await llm?.close();
    await redis?.stop();
  });

  test('a port in use: exit 6', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const { port } = busy.address() as { port: number };
    try {
      const r = await el4nerAsync(['serve', '--config', offline, '--port', String(port)]);
      assert.equal(r.code, 6, r.stderr);
      oneLine(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
    } finally {
      busy.close();
    }
  });

  test('Redis down: exit 5 at once, for every queue command', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    for (const args of [
      ['enqueue', '--redis', url, '--input', docs, '--job', 'j'],
      ['worker', '--redis', url, '--config', offline],
      ['status', '--redis', url, '--job', 'j'],
      ['collect', '--redis', url, '--job', 'j', '--output', join(dir, 'c.jsonl')],
    ]) {
      const t0 = Date.now();
      const r = el4ner(args, { timeoutMs: 30_000 });
      assert.equal(r.code, 5, `${args[0]}: ${r.stderr}`);
      oneLine(r.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+\/?: ECONNREFUSED/);
      assert.ok(Date.now() - t0 < 20_000, `${args[0]} gave up quickly`);
    }
  });

  test('an unknown job: exit 5, and the hint about durable Redis', () => {
    for (const args of [
      ['status', '--redis', redis.url, '--job', 'no-such-job'],
      ['collect', '--redis', redis.url, '--job', 'no-such-job', '--output', join(dir, 'c.jsonl')],
    ]) {
      const r = el4ner(args);
      assert.equal(r.code, 5, r.stderr);
      oneLine(r.stderr, /no job named "no-such-job" on this Redis .*appendonly yes/);
    }
  });

  test('no model answering: exit 4; a broken cache file: exit 7 naming the file; --verbose shows the stack', async () => {
    const dead = join(dir, 'dead.json');
    writeFileSync(
      dead,
      JSON.stringify({
        models: [
          {
            name: 'gone',
            engine: 'openai',
            baseUrl: `http://127.0.0.1:${await freePort()}/v1`,
            model: 'm',
            maxAttempts: 1,
          },
        ],
        labels: ['PER'],
        cache: { enabled: false },
      }),
    );
    // the start-up checks name the cause before any document is tried
    const r = el4ner(['run', '--config', dead, '--input', docs, '--output', join(dir, 'dead.jsonl')]);
    assert.equal(r.code, 4, r.stderr);
    oneLine(r.stderr, /start-up checks failed/);
    assert.match(r.stderr, /model gone: .*connection refused/);
    assert.ok(!existsSync(join(dir, 'dead.jsonl')) || readFileSync(join(dir, 'dead.jsonl'), 'utf8') === '');
    // without them, every document becomes a row with its error and the run exits 9
    const skipped = el4ner([
      'run',
      '--config',
      dead,
      '--input',
      docs,
      '--output',
      join(dir, 'dead-skipped.jsonl'),
      '--no-preflight',
    ]);
    assert.equal(skipped.code, 9, skipped.stderr);
    oneLine(skipped.stderr, /no answer from any model/);
    const rows = readFileSync(join(dir, 'dead-skipped.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(
      rows.length > 0 && rows.every((x) => x.degraded && /connection refused|ECONNREFUSED/i.test(x.error)),
      JSON.stringify(rows[0]),
    );

    const broken = join(dir, 'broken.sqlite');
    writeFileSync(broken, 'this is not an SQLite database, just text that happens to be here\n'.repeat(100));
    const args = [
      'run',
      '--config',
      llmConfig,
      '--cache',
      broken,
      '--input',
      docs,
      '--output',
      join(dir, 'c.jsonl'),
    ];
    const c = await el4nerAsync(args);
    assert.equal(c.code, 7, c.stderr);
    oneLine(c.stderr, new RegExp(`response cache ${broken}: file is not a database`));
    const v = await el4nerAsync([...args, '--verbose']);
    assert.equal(v.code, 7);
    assert.ok(hasStack(v.stderr), v.stderr);

    const bug = el4ner(['run', '--config', join(dir, 'missing.yaml'), '--input', docs, '--output', '-']);
    assert.equal(bug.code, 2);
    oneLine(bug.stderr, /missing\.yaml: no such config file$/);
    const folder = el4ner(['run', '--config', dir, '--input', docs, '--output', '-']);
    assert.equal(folder.code, 2);
    oneLine(folder.stderr, /: a folder, not a config file$/);
  });

  test('Ctrl-C: what was written, how to resume, the cursor back; the resume finishes the job', async () => {
    const out = join(dir, 'interrupted.jsonl');
    const command = `"${process.execPath}" "${bin}" run --config "${llmConfig}" --input "${docs}" --output "${out}"`;
    // `script` gives the run a terminal, so the progress bar (which hides the cursor) is drawn
    const term: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    term.stdout?.setEncoding('utf8').on('data', (d) => {
      screen += d;
    });
    const rows = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).length : 0);
    const deadline = Date.now() + 60_000;
    while (rows() < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    term.stdin?.write('\x03'); // Ctrl-C, through the terminal
    const code = await new Promise<number | null>((r) => term.once('exit', (c) => r(c)));
    const written = rows();
    assert.equal(code, 130, screen);
    assert.ok(written >= 3 && written < 60, `${written} rows`);
    assert.match(
      screen,
      new RegExp(
        `SIGINT: stopped with ${written} document\\(s\\) written to ${out} \\(${written} of 60 done\\); run the same command again to resume`,
      ),
    );
    const hide = screen.indexOf('\x1b[?25l');
    assert.ok(hide >= 0, 'the progress bar hid the cursor');
    assert.ok(screen.lastIndexOf('\x1b[?25h') > hide, 'and it was shown again');

    const resumed = await el4nerAsync(['run', '--config', llmConfig, '--input', docs, '--output', out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`${written} document\\(s\\) already in`));
    assert.equal(rows(), 60);
  });
});

/**
 * `el4ner tune` on a slow model: each candidate counts its dev sentences on stderr while it runs
 * (plain lines when stderr is not a terminal, a bar on one), stdout and the tuned config are the
 * same with or without progress lines, and Ctrl-C says which candidate it stopped in, gives the
 * terminal its cursor back, exits 130 and writes nothing. The real CLI over a slow scripted
 * OpenAI-compatible server.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanSample, dataDir, openaiModel, readJsonl, startSlowOracles } from '../experts/helpers.js';
import { bin, el4nerAsync, tmpDir } from '../support/cli.js';
import type { ScriptedServer } from '../support/scripted-server.js';

describe('el4ner tune: progress inside a candidate and Ctrl-C', () => {
  const dev = cleanSample(readJsonl(join(dataDir, 'conll2003/dev.jsonl')), 6);
  let server: ScriptedServer;
  let dir: string;
  let config: string;
  let devFile: string;
  // the default costs 6 sentences x 5 calls (2 extractions, 2 classifications, 1 verification):
  // 35 calls run it and leave too few for any other candidate, which keeps the run short
  const tuneArgs = (out: string) => [
    'tune',
    '--config',
    config,
    '--dev',
    devFile,
    '--sample',
    '6',
    '--budget',
    '35',
    '--out',
    out,
  ];
  before(async () => {
    server = await startSlowOracles(dev);
    dir = tmpDir('el4ner-tune-progress-');
    devFile = join(dir, 'dev.jsonl');
    writeFileSync(devFile, dev.map((d) => `${JSON.stringify(d)}\n`).join(''));
    config = join(dir, 'el4ner.json');
    writeFileSync(
      config,
      JSON.stringify({
        models: ['a', 'b'].map((n) => openaiModel(server.url, n)),
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

  test('sentences done show before the candidate ends; stdout and the config do not change', async () => {
    const lines = join(dir, 'lines.yaml');
    const r = await el4nerAsync(tuneArgs(lines), {
      env: { ...process.env, EL4NER_PROGRESS_INTERVAL: '0' },
    });
    assert.equal(r.code, 0, r.stderr);
    const err = r.stderr.split('\n');
    const partway = err.findIndex((l) => /^candidate 1 \(default\): [1-5]\/6 \(/.test(l));
    const ended = err.findIndex((l) => /^el4ner: default: .*: strict F1 /.test(l));
    assert.ok(partway >= 0, `a line while the default ran:\n${r.stderr}`);
    assert.ok(ended > partway, `before the default's result:\n${r.stderr}`);
    assert.match(r.stderr, /^candidate 1 \(default\): 6\/6 \(100\.0%\) .* done$/m);
    assert.doesNotMatch(r.stdout, /\d+\/6 \(/);

    const quiet = join(dir, 'quiet.yaml');
    const q = await el4nerAsync(tuneArgs(quiet));
    assert.equal(q.code, 0, q.stderr);
    assert.doesNotMatch(q.stderr, /^candidate 1 \(default\): [1-5]\/6 \(/m, 'a line every 10 s by default');
    assert.match(q.stderr, /^candidate 1 \(default\): 6\/6 \(100\.0%\) .* done$/m);
    assert.equal(r.stdout, q.stdout);
    const body = (f: string) => readFileSync(f, 'utf8').replaceAll(f, '');
    assert.equal(body(lines), body(quiet));
  });

  test('Ctrl-C: says which candidate it stopped in and the calls spent, the cursor back, exit 130', async () => {
    const out = join(dir, 'interrupted.yaml');
    const command = `"${process.execPath}" "${bin}" ${tuneArgs(out)
      .map((a) => `"${a}"`)
      .join(' ')}`;
    // `script` gives the command a terminal, so the progress bar (which hides the cursor) is drawn
    const term: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    term.stdout?.setEncoding('utf8').on('data', (d) => {
      screen += d;
    });
    const start = server.requests.length;
    const deadline = Date.now() + 60_000;
    while (server.requests.length - start < 8 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    term.stdin?.write('\x03'); // Ctrl-C, through the terminal
    const code = await new Promise<number | null>((r) => term.once('exit', (c) => r(c)));
    assert.equal(code, 130, screen);
    assert.match(screen, /candidate 1 \(default\) \[/, 'the candidate showed its progress bar');
    assert.match(
      screen,
      /el4ner: SIGINT: stopped in candidate 1 \(default\), \d+ of 35 call\(s\) spent; nothing written/,
    );
    const hide = screen.indexOf('\x1b[?25l');
    assert.ok(hide >= 0, 'the progress bar hid the cursor');
    assert.ok(screen.lastIndexOf('\x1b[?25h') > hide, 'and it was shown again');
    assert.ok(!existsSync(out));
  });
});

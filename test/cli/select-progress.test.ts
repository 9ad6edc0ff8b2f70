/**
 * `el4ner select` measuring experts on a labelled sample: each expert's run shows its progress on
 * stderr (nothing on stdout), and Ctrl-C says which expert it stopped in, gives the terminal its
 * cursor back and exits 130. The real CLI over a slow scripted OpenAI-compatible server.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanSample, dataDir, openaiModel, readJsonl, startSlowOracles } from '../experts/helpers.js';
import { bin, el4nerAsync, tmpDir } from '../support/cli.js';
import type { ScriptedServer } from '../support/scripted-server.js';

describe('el4ner select: progress and Ctrl-C', () => {
  const target = cleanSample(readJsonl(join(dataDir, 'conll2003/dev.jsonl')), 12);
  let server: ScriptedServer;
  let dir: string;
  let config: string;
  let targetFile: string;
  before(async () => {
    server = await startSlowOracles(target);
    dir = tmpDir('el4ner-select-progress-');
    targetFile = join(dir, 'target.jsonl');
    writeFileSync(targetFile, target.map((d) => `${JSON.stringify(d)}\n`).join(''));
    config = join(dir, 'experts.json');
    writeFileSync(
      config,
      JSON.stringify({
        models: ['a', 'b'].map((n) => openaiModel(server.url, n)),
        labels: ['LOC', 'MISC', 'ORG', 'PER'],
        cache: { enabled: false },
        concurrency: 1,
        experts: ['a', 'b'].map((m) => ({
          name: `${m}-expert`,
          model: m,
          domain: { samples: 'target.jsonl' },
        })),
      }),
    );
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('each expert counts its labelled sentences on stderr; stdout has the table only', async () => {
    const r = await el4nerAsync(['select', '--config', config, '--target', targetFile, '--labelled', '6']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^expert a-expert \(1 of 2\): 6\/6 \(100\.0%\) .* done$/m);
    assert.match(r.stderr, /^expert b-expert \(2 of 2\): 6\/6 \(100\.0%\) .* done$/m);
    assert.doesNotMatch(r.stdout, /\d+\/6 \(/);
    assert.match(r.stdout, /^expert\s+domain sim\s+strict F1\s+selected by$/m);
  });

  test('sentences done show while an expert runs, before the next expert starts', async () => {
    const args = ['select', '--config', config, '--target', targetFile, '--labelled', '6'];
    const r = await el4nerAsync(args, { env: { ...process.env, EL4NER_PROGRESS_INTERVAL: '0' } });
    assert.equal(r.code, 0, r.stderr);
    const err = r.stderr.split('\n');
    const partway = err.findIndex((l) => /^expert a-expert \(1 of 2\): [1-5]\/6 \(/.test(l));
    const aDone = err.findIndex((l) => /^expert a-expert \(1 of 2\): 6\/6 .* done$/.test(l));
    const bPartway = err.findIndex((l) => /^expert b-expert \(2 of 2\): [1-5]\/6 \(/.test(l));
    assert.ok(partway >= 0 && aDone > partway, `lines while the first expert ran:\n${r.stderr}`);
    assert.ok(bPartway > aDone, `and while the second ran:\n${r.stderr}`);
    const quiet = await el4nerAsync(args);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(r.stdout, quiet.stdout, 'progress lines do not change stdout');
  });

  test('Ctrl-C: says which expert it stopped in, the cursor back, exit 130', async () => {
    const command = `"${process.execPath}" "${bin}" select --config "${config}" --target "${targetFile}" --labelled 12`;
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
    assert.match(screen, /expert a-expert \(1 of 2\) \[/, 'the expert showed its progress bar');
    assert.match(
      screen,
      /el4ner: SIGINT: stopped while measuring expert a-expert \(1 of 2\); nothing written/,
    );
    const hide = screen.indexOf('\x1b[?25l');
    assert.ok(hide >= 0, 'the progress bar hid the cursor');
    assert.ok(screen.lastIndexOf('\x1b[?25h') > hide, 'and it was shown again');
  });
});

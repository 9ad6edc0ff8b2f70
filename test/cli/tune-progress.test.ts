/**
 * `el4ner tune` on a slow model: each candidate counts its dev sentences on stderr while it runs
 * (plain lines when stderr is not a terminal, a bar on one), stdout and the tuned config are the
 * same with or without progress lines, and Ctrl-C says which candidate it stopped in, gives the
 * terminal its cursor back, exits 130 and writes nothing. The real CLI over a slow scripted
 * OpenAI-compatible server.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanSample, dataDir, readJsonl } from '../experts/helpers.js';
import { el4nerAsync } from '../support/cli.js';
import type { ScriptedServer } from '../support/scripted-server.js';
import {
  assertCursorShownAgain,
  interruptInTerminal,
  type SlowWorld,
  startSlowWorld,
} from '../support/slow-world.js';

describe('el4ner tune: progress inside a candidate and Ctrl-C', () => {
  const dev = cleanSample(readJsonl(join(dataDir, 'conll2003/dev.jsonl')), 6);
  let world: SlowWorld;
  let server: ScriptedServer;
  let dir: string;
  let config: string;
  let devFile: string;
  before(async () => {
    world = await startSlowWorld('tune-progress', dev, { sampleFile: 'dev.jsonl' });
    ({ server, dir, config, sample: devFile } = world);
  });
  after(() => world?.close());
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
    const { code, screen } = await interruptInTerminal(tuneArgs(out), server);
    assert.equal(code, 130, screen);
    assert.match(screen, /candidate 1 \(default\) \[/, 'the candidate showed its progress bar');
    assert.match(
      screen,
      /el4ner: SIGINT: stopped in candidate 1 \(default\), \d+ of 35 call\(s\) spent; nothing written/,
    );
    assertCursorShownAgain(screen);
    assert.ok(!existsSync(out));
  });
});

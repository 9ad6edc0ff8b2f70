/**
 * `el4ner ablate` on a long set: each row shows its progress on stderr, and Ctrl-C says where it
 * stopped, gives the terminal its cursor back and exits 130 without writing a partial table.
 * The real CLI over a slow scripted OpenAI-compatible server.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

describe('el4ner ablate: progress and Ctrl-C', () => {
  const dev = cleanSample(readJsonl(join(dataDir, 'conll2003/dev.jsonl')), 12);
  let world: SlowWorld;
  let server: ScriptedServer;
  let dir: string;
  let config: string;
  let testFile: string;
  before(async () => {
    world = await startSlowWorld('ablate-progress', dev);
    ({ server, dir, config, sample: testFile } = world);
  });
  after(() => world?.close());

  test('each row counts its documents on stderr', async () => {
    const out = join(dir, 'done');
    const r = await el4nerAsync([
      'ablate',
      '--config',
      config,
      '--test',
      testFile,
      '--out',
      out,
      '--rows',
      'full,no-verification',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^row full: 12\/12 \(100\.0%\) .* done$/m);
    assert.match(r.stderr, /^row no-verification: 12\/12 \(100\.0%\) .* done$/m);
  });

  test("each row's line says where its answers came from: sent, or from the cache when it is on", async () => {
    const cached = join(dir, 'cached.json');
    writeFileSync(
      cached,
      JSON.stringify({
        ...JSON.parse(readFileSync(config, 'utf8')),
        cache: { path: join(dir, 'cache.sqlite') },
      }),
    );
    const ablate = (...more: string[]) =>
      el4nerAsync([
        'ablate',
        '--config',
        cached,
        '--test',
        testFile,
        '--limit',
        '3',
        '--rows',
        'no-verification',
        '--out',
        join(dir, 'sources'),
        ...more,
      ]);
    const line = (stderr: string) =>
      stderr.split('\n').find((l) => l.startsWith('el4ner: no-verification: F1'));
    const off = await ablate('--no-cache');
    assert.equal(off.code, 0, off.stderr);
    assert.match(line(off.stderr) ?? '', /calls per sentence \([1-9]\d* sent, response cache off\)/);
    assert.ok(!existsSync(join(dir, 'cache.sqlite')), '--no-cache wrote no cache');
    const cold = await ablate();
    assert.equal(cold.code, 0, cold.stderr);
    const sent = Number(/\((\d+) sent, 0 from the cache\)/.exec(line(cold.stderr) ?? '')?.[1]);
    assert.ok(sent > 0, cold.stderr);
    const warm = await ablate();
    assert.equal(warm.code, 0, warm.stderr);
    assert.match(line(warm.stderr) ?? '', new RegExp(`\\(0 sent, ${sent} from the cache\\)`));
  });

  test('Ctrl-C: says which row it stopped in, the cursor back, exit 130, no table', async () => {
    const out = join(dir, 'interrupted');
    const { code, screen } = await interruptInTerminal(
      ['ablate', '--config', config, '--test', testFile, '--out', out, '--rows', 'full,no-verification'],
      server,
    );
    assert.equal(code, 130, screen);
    assert.match(screen, /row full \[/, 'the row showed its progress bar');
    assert.match(screen, /el4ner: SIGINT: stopped in the full row, 0 of 2 row\(s\) done; no table written/);
    assertCursorShownAgain(screen);
    assert.ok(!existsSync(`${out}.md`) && !existsSync(`${out}.json`));
  });
});

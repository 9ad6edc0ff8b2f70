/**
 * `el4ner select` measuring experts on a labelled sample: each expert's run shows its progress on
 * stderr (nothing on stdout), and Ctrl-C says which expert it stopped in, gives the terminal its
 * cursor back and exits 130. The real CLI over a slow scripted OpenAI-compatible server.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanSample, dataDir, readJsonl } from '../experts/helpers.js';
import type { ScriptedServer } from '../support/scripted-server.js';
import { selectCli } from '../support/select-cli.js';
import {
  assertCursorShownAgain,
  interruptInTerminal,
  type SlowWorld,
  startSlowWorld,
} from '../support/slow-world.js';

describe('el4ner select: progress and Ctrl-C', () => {
  const target = cleanSample(readJsonl(join(dataDir, 'conll2003/dev.jsonl')), 12);
  let world: SlowWorld;
  let server: ScriptedServer;
  let config: string;
  let targetFile: string;
  before(async () => {
    world = await startSlowWorld('select-progress', target, {
      sampleFile: 'target.jsonl',
      extra: {
        experts: ['a', 'b'].map((m) => ({
          name: `${m}-expert`,
          model: m,
          domain: { samples: 'target.jsonl' },
        })),
      },
    });
    ({ server, config, sample: targetFile } = world);
  });
  after(() => world?.close());

  test('each expert counts its labelled sentences on stderr; stdout has the table only', async () => {
    const r = await selectCli(config, targetFile, ['--labelled', '6']);
    assert.match(r.stderr, /^expert a-expert \(1 of 2\): 6\/6 \(100\.0%\) .* done$/m);
    assert.match(r.stderr, /^expert b-expert \(2 of 2\): 6\/6 \(100\.0%\) .* done$/m);
    assert.doesNotMatch(r.stdout, /\d+\/6 \(/);
    assert.match(r.stdout, /^expert\s+domain sim\s+strict F1\s+selected by$/m);
  });

  test('sentences done show while an expert runs, before the next expert starts', async () => {
    const more = ['--labelled', '6'];
    const r = await selectCli(config, targetFile, more, {
      env: { ...process.env, EL4NER_PROGRESS_INTERVAL: '0' },
    });
    const err = r.stderr.split('\n');
    const partway = err.findIndex((l) => /^expert a-expert \(1 of 2\): [1-5]\/6 \(/.test(l));
    const aDone = err.findIndex((l) => /^expert a-expert \(1 of 2\): 6\/6 .* done$/.test(l));
    const bPartway = err.findIndex((l) => /^expert b-expert \(2 of 2\): [1-5]\/6 \(/.test(l));
    assert.ok(partway >= 0 && aDone > partway, `lines while the first expert ran:\n${r.stderr}`);
    assert.ok(bPartway > aDone, `and while the second ran:\n${r.stderr}`);
    const quiet = await selectCli(config, targetFile, more);
    assert.equal(r.stdout, quiet.stdout, 'progress lines do not change stdout');
  });

  test('Ctrl-C: says which expert it stopped in, the cursor back, exit 130', async () => {
    const { code, screen } = await interruptInTerminal(
      ['select', '--config', config, '--target', targetFile, '--labelled', '12'],
      server,
    );
    assert.equal(code, 130, screen);
    assert.match(screen, /expert a-expert \(1 of 2\) \[/, 'the expert showed its progress bar');
    assert.match(
      screen,
      /el4ner: SIGINT: stopped while measuring expert a-expert \(1 of 2\); nothing written/,
    );
    assertCursorShownAgain(screen);
  });
});

/**
 * The labelled files of `view --gold`, `tune --dev`, `select --target` (scored experts) and
 * `ablate --test` are read as `score` and `eval` read their gold: plain text is refused before any
 * model is asked (exit 2), a file with no entity at all is said, and so are gold types the
 * configured method never gives. The real CLI over a scripted OpenAI-compatible server.
 * (`ensemble` reads prediction files only: it has no gold to check.)
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanSample, dataDir, openaiModel, oracleHandler, readJsonl } from '../experts/helpers.js';
import { el4nerAsync, hasStack, jsonl, literal, tmpDir } from '../support/cli.js';
import { type ScriptedServer, scriptByModel, startScriptedServer } from '../support/scripted-server.js';

describe('labelled inputs of view, tune, select and ablate', () => {
  const dev = cleanSample(readJsonl(join(dataDir, 'conll2003/dev.jsonl')), 4);
  let server: ScriptedServer;
  let dir: string;
  let config: string;
  let narrow: string;
  let experts: string;
  let labelled: string;
  let text: string;
  let unlabelled: string;
  before(async () => {
    server = await startScriptedServer({
      chat: scriptByModel({ a: oracleHandler(dev, {}), b: oracleHandler(dev, {}) }),
    });
    dir = tmpDir('el4ner-labelled-inputs-');
    labelled = join(dir, 'dev.jsonl');
    writeFileSync(labelled, jsonl(dev));
    text = join(dir, 'dev.txt');
    writeFileSync(text, dev.map((d) => d.text).join('\n'));
    unlabelled = join(dir, 'unlabelled.jsonl');
    writeFileSync(unlabelled, jsonl(dev.map((d) => ({ id: d.id, text: d.text }))));
    const raw = {
      models: ['a', 'b'].map((n) => openaiModel(server.url, n)),
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      cache: { enabled: false },
    };
    config = join(dir, 'el4ner.json');
    writeFileSync(config, JSON.stringify(raw));
    // a method asking for one of the four gold types: the others can only be missed
    narrow = join(dir, 'narrow.json');
    writeFileSync(narrow, JSON.stringify({ ...raw, labels: ['MISC'] }));
    experts = join(dir, 'experts.json');
    writeFileSync(
      experts,
      JSON.stringify({
        ...raw,
        experts: ['a', 'b'].map((m) => ({ name: `${m}-expert`, model: m, domain: { samples: 'dev.jsonl' } })),
      }),
    );
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // [command, its labelled option, the arguments with the labelled file at FILE]
  const commands: Array<[string, string, (cfg: () => string, file: string) => string[]]> = [
    ['view', '--gold', (_, f) => ['view', '--input', labelled, '--gold', f, '--out', join(dir, 'v.html')]],
    [
      'tune',
      '--dev',
      (cfg, f) => [
        'tune',
        '--config',
        cfg(),
        '--dev',
        f,
        '--sample',
        '4',
        '--budget',
        '1',
        '--out',
        join(dir, 't.yaml'),
      ],
    ],
    ['select', '--target', (_, f) => ['select', '--config', experts, '--target', f, '--labelled', '2']],
    [
      'ablate',
      '--test',
      (cfg, f) => [
        'ablate',
        '--config',
        cfg(),
        '--test',
        f,
        '--limit',
        '2',
        '--rows',
        'no-verification',
        '--out',
        join(dir, 'ablation'),
      ],
    ],
  ];

  for (const [name, flag, args] of commands)
    test(`${name} ${flag}: plain text is refused before any model is asked; no entities at all is said`, async () => {
      const asked = server.requests.length;
      const r = await el4nerAsync(args(() => config, text));
      assert.equal(r.code, 2, r.stderr);
      assert.ok(!hasStack(r.stderr), r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^el4ner: ${literal(text)}: plain text has no entity labels; ${flag} needs labelled documents`,
        ),
      );
      assert.equal(server.requests.length, asked, 'no model asked');

      const u = await el4nerAsync(args(() => config, unlabelled));
      assert.match(u.stderr, new RegExp(`warning: ${literal(unlabelled)} holds no entities`), u.stderr);
      assert.ok(!hasStack(u.stderr), u.stderr);
    });

  for (const name of ['tune', 'ablate'])
    test(`${name}: gold types the configured labels do not include are said; none when they all are`, async () => {
      const [, , args] = commands.find(([n]) => n === name)!;
      const r = await el4nerAsync(args(() => narrow, labelled));
      assert.ok(!hasStack(r.stderr), r.stderr);
      assert.match(
        r.stderr,
        /warning: gold types the method does not give \(its labels: MISC\): (LOC|ORG|PER)(, (LOC|ORG|PER))* \(\d+ entities, counted as missed\)/,
      );
      const all = await el4nerAsync(args(() => config, labelled));
      assert.doesNotMatch(all.stderr, /gold types the method does not give/);
      assert.doesNotMatch(all.stderr, /holds no entities/);
    });

  test("an expert's domain samples in another encoding: the file, line and byte offset, exit 2", async () => {
    const samples = join(dir, 'latin1-samples.txt');
    writeFileSync(samples, Buffer.from('News from Paris.\nLe caf\xe9 est ouvert.\n', 'latin1'));
    const file = join(dir, 'latin1-experts.json');
    writeFileSync(
      file,
      JSON.stringify({
        models: ['a', 'b'].map((n) => openaiModel(server.url, n)),
        labels: ['LOC', 'MISC', 'ORG', 'PER'],
        cache: { enabled: false },
        experts: [{ name: 'a-expert', model: 'a', domain: { samples: 'latin1-samples.txt' } }],
      }),
    );
    const r = await el4nerAsync(['select', '--config', file, '--target', text, '--labelled', '0']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(!hasStack(r.stderr), r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `${literal(samples)}:2: not valid UTF-8: byte 0xe9 at byte offset 23; domain samples are UTF-8`,
      ),
    );
  });

  test('select --labelled 0 (domain similarity only) still takes an unlabelled, plain-text target', async () => {
    const r = await el4nerAsync(['select', '--config', experts, '--target', text, '--labelled', '0']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /plain text has no entity labels|holds no entities/);
  });
});

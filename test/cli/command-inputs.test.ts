/**
 * What `tune`, `select`, `ablate` and `ensemble` do with bad input, through the real command line:
 * a usage error is one clear message and exit 2, and nothing is worked on or written first.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanSample, dataDir, openaiModel, oracleHandler, readJsonl } from '../experts/helpers.js';
import { type CliResult, el4ner, el4nerAsync, hasStack, tmpDir } from '../support/cli.js';
import { type ScriptedServer, scriptByModel, startScriptedServer } from '../support/scripted-server.js';

describe('command-line usage errors exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'a negative number',
      ['tune', '--config', 'c.yaml', '--dev', 'd.jsonl', '--out', 't.yaml', '--budget', '-5'],
      /'-5' is invalid/,
    ],
    [
      'a non-numeric number',
      ['ablate', '--config', 'c.yaml', '--test', 't.jsonl', '--limit', 'ten'],
      /'ten' is invalid/,
    ],
    [
      'an unknown option',
      ['ensemble', '--pred', 'a.jsonl', '--pred', 'b.jsonl', '--output', 'o.jsonl', '--bogus'],
      /unknown option '--bogus'/,
    ],
    [
      'a missing required option',
      ['select', '--target', 't.jsonl'],
      /required option '--config <file>' not specified/,
    ],
  ];
  for (const [what, args, message] of cases)
    test(`${what}: ${args[0]}`, () => {
      const r = el4ner(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!hasStack(r.stderr), r.stderr);
    });

  test('--help still exits 0', () => {
    for (const cmd of ['tune', 'select', 'ablate', 'ensemble'])
      assert.equal(el4ner([cmd, '--help']).code, 0, cmd);
  });
});

describe('tune, select, ablate and ensemble: bad input stops them before any work', () => {
  const dev = cleanSample(readJsonl(join(dataDir, 'conll2003/dev.jsonl')), 6);
  let server: ScriptedServer;
  let dir: string;
  let config: string;
  let experts: string;
  let devFile: string;
  before(async () => {
    server = await startScriptedServer({
      chat: scriptByModel({ a: oracleHandler(dev, {}), b: oracleHandler(dev, {}) }),
    });
    dir = tmpDir('el4ner-inputs-');
    devFile = join(dir, 'dev.jsonl');
    writeFileSync(devFile, dev.map((d) => `${JSON.stringify(d)}\n`).join(''));
    const raw = {
      models: ['a', 'b'].map((n) => openaiModel(server.url, n)),
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      cache: { enabled: false },
    };
    config = join(dir, 'el4ner.json');
    writeFileSync(config, JSON.stringify(raw));
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

  function refused(r: CliResult, message: RegExp): void {
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.ok(!hasStack(r.stderr), r.stderr);
  }

  test('ablate checks where it writes its tables and which rows it runs before running a row', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const before = server.requests.length;
    const args = ['ablate', '--config', config, '--test', devFile, '--rows', 'no-verification'];
    refused(
      await el4nerAsync([...args, '--out', join(dir, 'a-file', 'ablation')]),
      /cannot create the folder .*a-file for the Markdown table: a file is in the way/,
    );
    refused(await el4nerAsync([...args, '--out', `${dir}/`]), /--out is a base name, not a folder/);
    for (const rows of ['', ' ', ' , '])
      refused(
        await el4nerAsync([
          'ablate',
          '--config',
          config,
          '--test',
          devFile,
          '--rows',
          rows,
          '--out',
          join(dir, 'none'),
        ]),
        /--rows: no row given; rows are full, sentence-retrieval, .*no-decomposition/,
      );
    assert.equal(server.requests.length, before, 'no row was run');
    assert.ok(!existsSync(join(dir, '.md')));
  });

  test('tune refuses a config without models, and writes no tuned config', async () => {
    const crfOnly = join(dir, 'crf-only.json');
    writeFileSync(crfOnly, JSON.stringify({ fusion: { slm: 'model.crf' } }));
    const out = join(dir, 'tuned', 'tuned.yaml');
    refused(
      await el4nerAsync(['tune', '--config', crfOnly, '--dev', devFile, '--budget', '100', '--out', out]),
      /crf-only\.json: tune chooses the settings of the LLMs: the config has no `models`/,
    );
    assert.ok(!existsSync(out));
  });

  test('select refuses an empty target file, and warns when the target has no gold entities', async () => {
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    const before = server.requests.length;
    refused(
      await el4nerAsync(['select', '--config', experts, '--target', empty]),
      /empty\.jsonl: no documents/,
    );
    assert.equal(server.requests.length, before);

    const unlabelled = join(dir, 'unlabelled.jsonl');
    writeFileSync(unlabelled, dev.map((d) => `${JSON.stringify({ id: d.id, text: d.text })}\n`).join(''));
    const r = await el4nerAsync(['select', '--config', experts, '--target', unlabelled, '--labelled', '4']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /the 4 sampled target sentence\(s\) have no gold entities, so F1 cannot tell the experts apart/,
    );
  });

  test('ensemble --output - writes the combined rows to stdout, not to a file named "-"', () => {
    const r = el4ner(['ensemble', '--pred', devFile, '--pred', devFile, '--output', '-'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const spans = (es: Array<{ start: number; end: number; type: string }>) =>
      es.map((e) => `${e.start}-${e.end} ${e.type}`);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map((d) => spans(d.entities)),
      dev.map((d) => spans(d.entities)),
    );
    assert.match(r.stderr, /written to stdout/);
    assert.ok(!existsSync(join(dir, '-')));
  });

  test('ensemble refuses names, weights and thresholds that would miscount or keep nothing', () => {
    const none = join(dir, 'none.jsonl');
    writeFileSync(
      none,
      dev.map((d) => `${JSON.stringify({ id: d.id, text: d.text, entities: [] })}\n`).join(''),
    );
    const output = join(dir, 'ensemble.jsonl');
    const ensemble = (...more: string[]) =>
      el4ner(['ensemble', '--pred', devFile, '--pred', none, '--output', output, ...more]);
    // one name for two systems: the system without entities voted the other's types, a "majority" of one
    refused(ensemble('--names', 'x,x'), /--names needs 2 distinct names, got "x,x"/);
    refused(ensemble('--min-votes', '3'), /--min-votes 3 is more than the systems' total weight \(2\)/);
    refused(ensemble('--weights', ',1'), /--weights needs 2 non-negative numbers, got ",1"/);
    assert.ok(!existsSync(output));
    const r = ensemble('--names', 'x,y');
    assert.equal(r.code, 0, r.stderr);
    const rows = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { entities: unknown[] });
    assert.equal(rows.length, dev.length);
    assert.ok(
      rows.every((d) => d.entities.length === 0),
      'one system of two is no majority',
    );
  });
  test('every command that reads labelled or predicted files takes --encoding, as the UTF-8 error tells', async () => {
    const latin = join(dir, 'latin1.jsonl');
    const row = {
      id: 'z',
      text: 'Zoë met Bob .',
      entities: [{ start: 0, end: 3, type: 'PER', text: 'Zoë' }],
    };
    writeFileSync(latin, Buffer.from(`${JSON.stringify(row)}\n`, 'latin1'));
    const html = join(dir, 'latin1.html');
    const commands: Array<[string, string[]]> = [
      ['view', ['view', '--input', latin, '--gold', latin, '--out', html]],
      ['ensemble', ['ensemble', '--pred', latin, '--pred', latin, '--output', join(dir, 'latin1-ens.jsonl')]],
      [
        'tune',
        ['tune', '--config', config, '--dev', latin, '--budget', '1', '--out', join(dir, 'latin1.yaml')],
      ],
      ['select', ['select', '--config', experts, '--target', latin]],
      [
        'ablate',
        [
          'ablate',
          '--config',
          config,
          '--test',
          latin,
          '--rows',
          'no-verification',
          '--out',
          join(dir, 'latin1-ablation'),
        ],
      ],
    ];
    const before = server.requests.length;
    for (const [name, args] of commands) {
      refused(
        await el4nerAsync(args),
        /latin1\.jsonl:1: not valid UTF-8: .*give it with --encoding \(e\.g\. --encoding latin1\)/,
      );
      refused(
        await el4nerAsync([...args, '--encoding', 'klingon']),
        /--encoding "klingon" is not an encoding/,
      );
      assert.equal(server.requests.length, before, `${name}: nothing asked before the input was read`);
    }
    for (const name of ['view', 'ensemble', 'ablate']) {
      const args = commands.find(([n]) => n === name)![1];
      const r = await el4nerAsync([...args, '--encoding', 'latin1']);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    }
    assert.match(readFileSync(html, 'utf8'), /Zoë/);
    const combined = readFileSync(join(dir, 'latin1-ens.jsonl'), 'utf8');
    assert.deepEqual(
      JSON.parse(combined).entities.map((e: { text: string }) => e.text),
      ['Zoë'],
    );
  });
});

/**
 * A config file with a mistake, as `el4ner run` meets it: every problem is a line that names the
 * file, the line and the key, exit 2, no stack; relative paths resolve against the config's folder
 * (README "Configuration"), experts' files included.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bin, el4ner, el4nerAsync, hasStack, jsonl, literal, tmpDir, trainSmallCrf } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { startTestRedis } from '../support/redis.js';

const dir = tmpDir('el4ner-config-errors-');
const input = join(dir, 'in.jsonl');
writeFileSync(input, jsonl([{ id: 'a', text: 'Alice met Bob.' }]));

function runWith(name: string, text: string, cwd?: string) {
  const file = join(dir, name);
  writeFileSync(file, text);
  return {
    file,
    r: el4ner(
      ['run', '--config', file, '--input', input, '--output', join(dir, `${name}.out.jsonl`)],
      cwd ? { cwd } : {},
    ),
  };
}

test('each config mistake is one line with the file, line and key; exit 2', () => {
  const cases: [string, string, RegExp][] = [
    // a misspelled key: where it is and what was meant
    [
      'typo.yaml',
      'fusion:\n  slm: m.crf\n  lamda: 0.5\n',
      /typo\.yaml:3: fusion\.lamda: unknown key \(did you mean "lambda"\?\)/,
    ],
    [
      'root-typo.yaml',
      'concurency: 4\nfusion:\n  slm: m.crf\n',
      /root-typo\.yaml:1: concurency: unknown key \(did you mean "concurrency"\?\)/,
    ],
    // a wrong type: the line of the value
    [
      'type.yaml',
      'fusion:\n  slm: m.crf\nconcurrency: "8"\n',
      /type\.yaml:3: concurrency: .*expected number, received string/,
    ],
    [
      'nested.yaml',
      'models:\n  - name: a\n    engine: openai\n    baseUrl: not a url\n    model: m\n',
      /nested\.yaml:4: models\[0\]\.baseUrl: /,
    ],
    // two letters swapped inside a list item
    [
      'swap.yaml',
      'models:\n  - name: a\n    engine: openai\n    baseUrl: http://x/v1\n    modle: m\n    model: m\n',
      /swap\.yaml:5: models\[0\]\.modle: unknown key \(did you mean "model"\?\)/,
    ],
    // a required key left out: the line of the mapping that lacks it
    [
      'required.yaml',
      'fusion:\n  slm: m.crf\nmodels:\n  - name: a\n    engine: openai\n    baseUrl: http://x/v1\n',
      /required\.yaml:4: models\[0\]\.model: missing \(expected string\)/,
    ],
    // no settings at all: the file is named, not taken for the default config
    ['empty.yaml', '', /empty\.yaml: the config is empty; it needs at least fusion\.slm .* or models/],
    ['comment.yaml', '# fusion:\n#   slm: m.crf\n', /comment\.yaml: the config is empty/],
    ['null.json', 'null\n', /null\.json: the config is empty/],
    // a list or a scalar where the mapping of settings belongs
    [
      'list.yaml',
      '- fusion\n- models\n',
      /list\.yaml:1: \(root\): a config is a mapping of keys .*not a list$/,
    ],
    ['scalar.yaml', '# a note\nm.crf\n', /scalar\.yaml:2: \(root\): a config is a mapping .*not a string$/],
    // a YAML syntax error: line and column once, no dangling "at line ..., column ...:"
    ['syntax.yaml', 'fusion:\n  slm: [m.crf\nfoo: 1\n', /syntax\.yaml:3:\d+: [^\n]*\]$/m],
  ];
  for (const [name, text, expected] of cases) {
    const { r } = runWith(name, text);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.ok(!hasStack(r.stderr), r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${name}: one line, got:\n${r.stderr}`);
    assert.match(lines[0], /^el4ner: /);
    assert.match(lines[0], expected);
    assert.doesNotMatch(lines[0], /at line \d+, column \d+:?$/);
  }
});

test('a config in another encoding: the file, line and byte offset, exit 2; a UTF-8 byte order mark is fine', () => {
  const latin = join(dir, 'latin1.yaml');
  // "é" as latin1 (0xe9) in a comment on line 2
  writeFileSync(latin, Buffer.from('fusion:\n  # caf\xe9\n  slm: m.crf\n', 'latin1'));
  const r = el4ner(['run', '--config', latin, '--input', input, '--output', join(dir, 'latin1.out.jsonl')]);
  assert.equal(r.code, 2, r.stderr);
  assert.ok(!hasStack(r.stderr), r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(
    r.stderr,
    /latin1\.yaml:2: not valid UTF-8: byte 0xe9 at byte offset 15; a config is UTF-8 text/,
  );

  const model = trainSmallCrf();
  const bom = join(dir, 'bom.yaml');
  writeFileSync(bom, `\ufeff# café\nfusion:\n  slm: ${model}\n`);
  const ok = el4ner(['run', '--config', bom, '--input', input, '--output', join(dir, 'bom.out.jsonl')]);
  assert.equal(ok.code, 0, ok.stderr);
});

test('two mistakes: each on its own line, each naming the file', () => {
  const { r } = runWith('two.yaml', 'concurrency: -1\nmaxChars: x\nfusion:\n  slm: m.crf\n');
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /^el4ner: .*two\.yaml:1: concurrency: /);
  assert.match(lines[1], /two\.yaml:2: maxChars: /);
});

test('a missing file named by the config: its key once, and the path resolved against the config folder', () => {
  const { r } = runWith('missing.yaml', 'fusion:\n  slm: nowhere.crf\n');
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /fusion\.slm: not found: .*nowhere\.crf/);
  assert.doesNotMatch(r.stderr, /fusion\.slm: fusion\.slm/);
  assert.ok(r.stderr.includes(join(dir, 'nowhere.crf')), r.stderr);
});

test("experts' files are relative to the config's folder too, not to the working directory", () => {
  const sub = join(dir, 'project');
  mkdirSync(join(sub, 'data'), { recursive: true });
  writeFileSync(join(sub, 'data', 'news.jsonl'), jsonl([{ id: 'n', text: 'News.' }]));
  const config = [
    'models:',
    '  - { name: q, engine: openai, baseUrl: "http://127.0.0.1:9/v1", model: m }',
    'experts:',
    '  - { name: news, model: q, domain: { samples: data/news.jsonl } }',
    '  - { name: law, model: q, domain: { samples: data/law.jsonl } }',
    '',
  ].join('\n');
  const file = join(sub, 'experts.yaml');
  writeFileSync(file, config);
  // run from another folder: the start-up checks must look beside the config
  const r = el4ner(['run', '--config', file, '--input', input, '--output', join(dir, 'experts.out.jsonl')], {
    cwd: dir,
  });
  assert.notEqual(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /news domain\.samples/, r.stderr);
  assert.match(r.stderr, /experts law domain\.samples: not found: .*project\/data\/law\.jsonl/);
});

test('a pool file that is not there: one line naming the key and the path, exit 2, also without the start-up checks', () => {
  const file = join(dir, 'nopool.yaml');
  writeFileSync(
    file,
    'models:\n  - { name: q, engine: openai, baseUrl: "http://127.0.0.1:9/v1", model: m }\npool: data/train.jsonl\ncache: { enabled: false }\n',
  );
  const gold = join(dir, 'gold.jsonl');
  writeFileSync(
    gold,
    jsonl([{ id: 'g', text: 'Alice met Bob.', entities: [{ start: 0, end: 5, type: 'PER' }] }]),
  );
  for (const args of [
    ['eval', '--config', file, '--test', gold],
    ['run', '--config', file, '--no-preflight', '--input', input, '--output', join(dir, 'nopool.out.jsonl')],
  ]) {
    const r = el4ner(args);
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
    assert.ok(!hasStack(r.stderr), r.stderr);
    assert.match(r.stderr, new RegExp(`pool: not found: ${join(dir, 'data', 'train.jsonl')}`));
  }
});

test('labels a CRF-only config cannot give are refused, naming the CRF labels; its own labels pass', () => {
  const model = trainSmallCrf();
  const other = join(dir, 'labels-other.yaml');
  writeFileSync(other, `fusion:\n  slm: ${model}\nlabels: [person, organisation]\n`);
  const out = join(dir, 'labels.out.jsonl');
  for (const args of [
    ['run', '--config', other, '--input', input, '--output', out],
    ['eval', '--config', other, '--test', input],
  ]) {
    const r = el4ner(args);
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
    assert.ok(!hasStack(r.stderr), r.stderr);
    assert.match(r.stderr, /labels: person, organisation: .*\(LOC, MISC, ORG, PER\)/);
  }
  const own = join(dir, 'labels-own.yaml');
  writeFileSync(own, `fusion:\n  slm: ${model}\nlabels: [PER, ORG, LOC, MISC]\n`);
  const r = el4ner(['run', '--config', own, '--input', input, '--output', out, '--overwrite']);
  assert.equal(r.code, 0, r.stderr);
});

test('a config with neither models nor fusion.slm: one line naming the file for run, eval, serve and worker', async (t) => {
  const gold = join(dir, 'pool-only.jsonl');
  writeFileSync(
    gold,
    jsonl([{ id: 'p', text: 'Alice met Bob.', entities: [{ start: 0, end: 5, type: 'PER' }] }]),
  );
  const configs = [
    { name: 'empty.json', text: '{}\n' },
    { name: 'pool-only.yaml', text: 'pool: pool-only.jsonl\n' },
  ].map(({ name, text }) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  });
  const redis = await startTestRedis();
  t.after(() => redis.stop());
  for (const file of configs) {
    const named = new RegExp(`^el4ner: ${literal(file)}: no models and no SLM: configure \`models\``);
    for (const args of [
      ['run', '--config', file, '--input', input, '--output', join(dir, 'none.out.jsonl')],
      ['eval', '--config', file, '--test', gold],
      ['worker', '--redis', redis.url, '--config', file, '--idle-exit', '1'],
    ]) {
      const r = await el4nerAsync(args);
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, named, `${args[0]}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${args[0]}: ${r.stderr}`);
    }
    // serve keeps running (its /readyz says the method cannot be built); its log names the file
    const serve = spawn(
      process.execPath,
      [bin, 'serve', '--config', file, '--port', String(await freePort())],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    await new Promise<void>((done) => {
      const timer = setTimeout(done, 60_000);
      serve.stderr.setEncoding('utf8').on('data', (d) => {
        log += d;
        if (/no models and no SLM/.test(log)) {
          clearTimeout(timer);
          done();
        }
      });
    });
    serve.kill('SIGKILL');
    assert.match(
      log,
      new RegExp(`cannot be built from the config: .*${literal(file)}: no models and no SLM`),
    );
  }
});

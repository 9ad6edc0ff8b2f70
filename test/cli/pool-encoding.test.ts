/**
 * The pool file (a config's `pool`, `el4ner index --pool`) and the unlabeled corpus of
 * `train-slm --unlabeled` are decoded as every other input is: invalid UTF-8 is one line with the
 * file, line and byte offset, exit 2, never U+FFFD; `--encoding` decodes them where the command
 * reads them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type CliResult, conllLines, el4ner, hasStack, jsonl, literal, tmpDir } from '../support/cli.js';

const dir = tmpDir('el4ner-pool-encoding-');

// "Garçon" in latin1: the ç (0xe7) is not UTF-8
const latinRow = JSON.stringify({
  id: 'p0',
  text: 'Garçon met Zoë in Paris',
  entities: [{ start: 18, end: 23, type: 'LOC' }],
});
const latinPool = join(dir, 'pool-latin1.jsonl');
writeFileSync(latinPool, Buffer.from(`${latinRow}\n`, 'latin1'));
const badAt = Buffer.from(latinRow, 'latin1').indexOf(0xe7);

function refused(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.ok(!hasStack(r.stderr), r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^el4ner: /);
  assert.match(lines[0], message);
}

test("a config's pool in latin1: refused with file, line and byte, and told how to convert it", () => {
  const config = join(dir, 'llm.yaml');
  writeFileSync(
    config,
    'models:\n  - { name: q, engine: openai, baseUrl: "http://127.0.0.1:9/v1", model: m }\npool: pool-latin1.jsonl\ncache: { enabled: false }\n',
  );
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, jsonl([{ id: 'a', text: 'Alice met Bob.' }]));
  const r = el4ner([
    'run',
    '--config',
    config,
    '--no-preflight',
    '--input',
    input,
    '--output',
    join(dir, 'o.jsonl'),
  ]);
  refused(
    r,
    new RegExp(
      `${literal(latinPool)}:1: not valid UTF-8: byte 0xe7 at byte offset ${badAt}; .*convert it to UTF-8 \\(el4ner convert --encoding latin1 `,
    ),
  );
  assert.doesNotMatch(r.stderr, /give it with --encoding/);
});

test('index --pool in latin1: refused, and decoded with --encoding latin1', () => {
  const out = join(dir, 'index');
  refused(
    el4ner(['index', '--pool', latinPool, '--out', out]),
    new RegExp(`${literal(latinPool)}:1: not valid UTF-8: byte 0xe7 at byte offset ${badAt}; .*--encoding`),
  );
  refused(
    el4ner(['index', '--pool', latinPool, '--out', out, '--encoding', 'klingon']),
    /--encoding "klingon" is not an encoding/,
  );
  const r = el4ner(['index', '--pool', latinPool, '--out', out, '--encoding', 'latin1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /sentences 1 \(1 with spans\), spans 1/);
  assert.ok(existsSync(join(out, 'manifest.json')));
});

test('train-slm --unlabeled: invalid UTF-8 is refused with its line and byte; --encoding decodes it; a folder is one line', () => {
  const pool = join(dir, 'train.jsonl');
  writeFileSync(pool, `${conllLines('train', 30).join('\n')}\n`);
  const unlabeled = join(dir, 'unlabeled.txt');
  const first = 'The match ended in a draw .\n';
  writeFileSync(unlabeled, Buffer.from(`${first}Le garçon est allé à Paris .\n`, 'latin1'));
  const at = Buffer.byteLength(first) + 'Le gar'.length;
  const args = [
    'train-slm',
    '--pool',
    pool,
    '--out',
    join(dir, 'm.crf'),
    '--max-iter',
    '2',
    '--dev-share',
    '0',
  ];
  refused(
    el4ner([...args, '--unlabeled', unlabeled]),
    new RegExp(`${literal(unlabeled)}:2: not valid UTF-8: byte 0xe7 at byte offset ${at}; .*--encoding`),
  );
  const r = el4ner([...args, '--unlabeled', unlabeled, '--encoding', 'latin1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`unlabeled: 2 sentences from ${literal(unlabeled)}`));
  const folder = join(dir, 'corpus');
  mkdirSync(folder);
  refused(
    el4ner([...args, '--unlabeled', folder]),
    new RegExp(`${literal(folder)}: a folder, not a file; --unlabeled takes a text file`),
  );
});

test('index: the same pool bytes decoded with another --encoding are another pool, so the index is rebuilt', () => {
  // UTF-8 bytes of "Zoë": read as latin1 they are "ZoÃ«", another sentence to retrieve
  const pool = join(dir, 'pool-bytes.jsonl');
  const row = { id: 'z', text: 'Paris met Zoë', entities: [{ start: 0, end: 5, type: 'LOC' }] };
  writeFileSync(pool, `${JSON.stringify(row)}\n`);
  const out = join(dir, 'index-bytes');
  const index = (...more: string[]) => {
    const r = el4ner(['index', '--pool', pool, '--out', out, '--json', ...more]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as { status: string; reason: string };
    return `${s.status}: ${s.reason}`;
  };
  const sentences = () =>
    readFileSync(
      join(out, JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).data, 'docs.jsonl'),
      'utf8',
    );
  assert.equal(index(), 'built: no index yet');
  assert.match(sentences(), /Paris met Zoë/);
  assert.equal(index('--encoding', 'utf-8'), 'up to date: up to date', 'UTF-8 given is the default');
  assert.equal(index('--encoding', 'latin1'), 'built: pool changed');
  assert.match(sentences(), /Paris met ZoÃ«/);
  assert.equal(index('--encoding', 'latin1'), 'up to date: up to date');
  assert.equal(index(), 'built: pool changed');
  assert.match(sentences(), /Paris met Zoë/);
});

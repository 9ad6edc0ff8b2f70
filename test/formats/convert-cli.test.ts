import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';

const repoRoot = resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'el4ner-convert-'));

function el4ner(...args: string[]) {
  return el4nerWithInput('', ...args);
}

function el4nerWithInput(input: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin/el4ner.js'), ...args], {
    encoding: 'utf8',
    cwd: repoRoot,
    input,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const CONLL =
  'EU\tNNP\tB-ORG\nrejects\tVBZ\tO\nGerman\tJJ\tB-MISC\n\nPeter\tNNP\tB-PER\nBlackburn\tNNP\tI-PER\n';

test('convert conll -> jsonl -> conll -> spacy -> brat -> jsonl keeps entities, with a summary line', () => {
  const conll = join(tmp, 'in.conll');
  writeFileSync(conll, CONLL);
  const jsonl = join(tmp, 'a.jsonl');
  let r = el4ner(
    'convert',
    '--from',
    'conll',
    '--to',
    'jsonl',
    '--sep',
    'tab',
    '--tag-col',
    '-1',
    conll,
    jsonl,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /convert: 2 documents, 3 entities -> .*a\.jsonl \(jsonl\)/);
  const recs = readFileSync(jsonl, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(recs[1].entities, [{ start: 0, end: 15, type: 'PER', text: 'Peter Blackburn' }]);

  r = el4ner('convert', jsonl, '-', '--to', 'conll', '--scheme', 'BIOES', '--sep', 'tab');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'EU\tNNP\tS-ORG\nrejects\tVBZ\tO\nGerman\tJJ\tS-MISC\n\nPeter\tNNP\tB-PER\nBlackburn\tNNP\tE-PER\n\n',
  );

  const spacy = join(tmp, 'b.jsonl');
  r = el4ner('convert', '--to', 'spacy', jsonl, spacy);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(readFileSync(spacy, 'utf8').split('\n')[0]).ents, [
    { start: 0, end: 2, label: 'ORG' },
    { start: 11, end: 17, label: 'MISC' },
  ]);

  const brat = join(tmp, 'brat');
  r = el4ner('convert', spacy, brat, '--to', 'brat');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(join(brat, 'in-1.ann'), 'utf8'), 'T1\tPER 0 15\tPeter Blackburn\n');

  const back = join(tmp, 'c.jsonl');
  r = el4ner('convert', brat, back);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /2 documents, 3 entities/);
});

test('convert reports input errors as file:line with exit code 2', () => {
  const bad = join(tmp, 'bad.conll');
  writeFileSync(bad, 'EU B-ORG\nPeter X-PER\n');
  const r = el4ner('convert', bad, join(tmp, 'bad.jsonl'));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /el4ner: .*bad\.conll:2: invalid tag "X-PER"/);
  const nested = join(tmp, 'nested.jsonl');
  writeFileSync(
    nested,
    `${JSON.stringify({
      id: 'n1',
      text: 'Bank of China',
      entities: [
        { start: 0, end: 13, type: 'ORG' },
        { start: 8, end: 13, type: 'GPE' },
      ],
    })}\n`,
  );
  const r2 = el4ner('convert', nested, join(tmp, 'nested.conll'));
  assert.equal(r2.code, 2);
  assert.ok(
    r2.stderr.startsWith(`el4ner: ${nested}: document "n1" has nested or overlapping entities`),
    r2.stderr,
  );
  const r3 = el4ner('convert', '--to', 'xml', nested, join(tmp, 'x.xml'));
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /--to must be one of/);
});

test('CoNLL output refuses a separator it cannot write: empty, or inside a token (it would read back as more columns)', () => {
  const docs = join(tmp, 'sep.jsonl');
  writeFileSync(
    docs,
    `${JSON.stringify({ id: 's1', text: 'a,b c\td', tokens: ['a,b', 'c\td'], entities: [] })}\n`,
  );
  const out = join(tmp, 'sep.conll');
  const empty = el4ner('convert', docs, out, '--sep', '');
  assert.equal(empty.code, 2, empty.stderr);
  assert.match(empty.stderr, /^el4ner: --sep is empty: give whitespace, tab or the separator string\n$/);
  for (const sep of [',', 'tab']) {
    const r = el4ner('convert', docs, out, '--sep', sep);
    assert.equal(r.code, 2, `--sep ${sep}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`el4ner: ${docs}: document "s1": token `), r.stderr);
    assert.match(r.stderr, /contains the column separator/);
  }
  assert.equal(existsSync(out), false, 'no file is written');
  const ok = el4ner('convert', docs, out, '--sep', '|');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(readFileSync(out, 'utf8'), 'a,b|O\nc\td|O\n\n');
});

test('brat output into a folder holding other documents is refused (they would be read back as part of it); the same documents again are fine', () => {
  const three = join(tmp, 'three.jsonl');
  const docs = ['a', 'b', 'c'].map((id) => ({
    id,
    text: `Paris ${id}`,
    entities: [{ start: 0, end: 5, type: 'LOC' }],
  }));
  writeFileSync(three, `${docs.map((d) => JSON.stringify(d)).join('\n')}\n`);
  const one = join(tmp, 'one.jsonl');
  writeFileSync(one, `${JSON.stringify(docs[0])}\n`);
  const folder = join(tmp, 'brat-out');
  assert.equal(el4ner('convert', three, folder, '--to', 'brat').code, 0);
  const again = el4ner('convert', three, folder, '--to', 'brat');
  assert.equal(again.code, 0, again.stderr);
  const r = el4ner('convert', one, folder, '--to', 'brat');
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr,
    `el4ner: ${folder}: the folder already holds the brat files of 2 other document(s) (b, ...), which reading it back would mix in; give a new or empty folder\n`,
  );
  const back = el4ner('convert', folder, '-', '--to', 'jsonl');
  assert.equal(back.stdout.trim().split('\n').length, 3, 'the folder is as it was');
});

test('convert reads stdin with --from and writes stdout', () => {
  const r = el4nerWithInput('EU B-ORG\nsays O\n', 'convert', '--from', 'conll', '-', '-');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).entities, [{ start: 0, end: 2, type: 'ORG', text: 'EU' }]);
  const r2 = el4nerWithInput('x', 'convert', '-', '-');
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /stdin:1: invalid JSON.*stdin is read as JSONL; give --from/);
});

test('a write that fails half-way (here a file size limit) leaves the previous output whole', () => {
  const big = resolve(repoRoot, '../shared/data/conll2003/dev.jsonl');
  const out = join(tmp, 'limited', 'out.conll');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, 'previous\tO\n');
  // `ulimit -f 64`: writes past 64 KiB fail with EFBIG, as a full disk fails with ENOSPC
  const r = spawnSync(
    'bash',
    [
      '-c',
      'ulimit -f 64 && exec "$0" "$@"',
      process.execPath,
      join(repoRoot, 'bin/el4ner.js'),
      'convert',
      big,
      out,
    ],
    { encoding: 'utf8', cwd: repoRoot },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^el4ner: .*out\.conll: cannot write: EFBIG/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(readFileSync(out, 'utf8'), 'previous\tO\n');
  assert.deepEqual(readdirSync(dirname(out)), ['out.conll'], 'no temp file is left');
});

test('convert: a bad --scheme, --offsets or --out-offsets is named with the value it got', () => {
  const src = join(tmp, 'values.conll');
  writeFileSync(src, CONLL);
  const cases: [string[], RegExp][] = [
    [['--scheme', 'FOO'], /^el4ner: --scheme must be one of BIO, IOB1, BIOES, BMES; got "FOO"\n$/],
    [['--offsets', 'foo'], /^el4ner: --offsets must be utf16 or codepoint; got "foo"\n$/],
    [['--out-offsets', 'bytes'], /^el4ner: --out-offsets must be utf16 or codepoint; got "bytes"\n$/],
  ];
  for (const [flags, message] of cases) {
    const r = el4ner('convert', src, join(tmp, 'values.jsonl'), ...flags);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
});

test('convert: "-" reads JSONL from stdin without --from, as its help says', () => {
  const help = el4ner('convert', '--help');
  assert.match(help.stdout, /"-" reads stdin \(JSONL unless --from\)/);
  assert.doesNotMatch(help.stdout, /needs --from/);
  const row = { id: 'd1', text: 'EU says', entities: [{ start: 0, end: 2, type: 'ORG' }] };
  const r = el4nerWithInput(`${JSON.stringify(row)}\n`, 'convert', '-', '-', '--to', 'conll');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'EU B-ORG\nsays O\n\n');
});

test('convert from stdin names it stdin in every error: a bad record, a repeated id, a document CoNLL cannot hold', () => {
  const cases: [string, string[], string][] = [
    ['{"id":"a","text":1}\n', [], 'stdin:1: "text" must be a string'],
    ['{"id":"a","text":1}\n', ['--from', 'spacy'], 'stdin:1: "text" must be a string'],
    [
      '{"id":"a","text":"x"}\n{"id":"a","text":"y"}\n',
      [],
      'stdin:2: duplicate document id "a" (first at stdin:1)',
    ],
    [
      `${JSON.stringify({
        id: 'a',
        text: 'New York',
        entities: [
          { start: 0, end: 8, type: 'LOC' },
          { start: 0, end: 3, type: 'ORG' },
        ],
      })}\n`,
      [],
      'stdin: document "a" has nested or overlapping entities',
    ],
  ];
  for (const [input, flags, said] of cases) {
    const r = el4nerWithInput(input, 'convert', '-', '-', '--to', 'conll', ...flags);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.startsWith(`el4ner: ${said}`), r.stderr);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
  }
});

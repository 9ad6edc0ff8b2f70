/**
 * Input that is not what it seems: a very long first line, a byte-order mark, Latin-1, UTF-16,
 * binary data, and training data with wrong entity offsets. Through the library reader and the
 * real command line.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { detectFormat, readDocuments } from '../../src/formats/index.js';
import { conllLines, el4ner, hasStack, offlineConfig, tmpDir, trainSmallCrf } from '../support/cli.js';

const dir = tmpDir('el4ner-decode-');
const file = (name: string, content: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

test('JSONL whose first line is 70,000 characters long is detected and read', async () => {
  const long = { id: 'long', text: `${'Paris is a city. '.repeat(4118)}Paris`, entities: [] };
  assert.ok(JSON.stringify(long).length > 70_000);
  const rows = `${JSON.stringify(long)}\n${JSON.stringify({ id: 'b', text: 'Rome', entities: [] })}\n`;
  const p = file('long.jsonl', rows);
  assert.equal(await detectFormat(p), 'jsonl');
  const docs = await readDocuments(p);
  assert.deepEqual(
    docs.map((d) => [d.id, d.text.length]),
    [
      ['long', long.text.length],
      ['b', 4],
    ],
  );
  // without the extension the content decides too
  assert.equal(await detectFormat(file('long.data', rows)), 'jsonl');
});

test('a UTF-8 byte-order mark is dropped, in JSONL, CoNLL and text', async () => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  const row = JSON.stringify({
    id: 'f',
    text: 'François Hollande',
    entities: [{ start: 0, end: 17, type: 'PER' }],
  });
  const j = file('bom.jsonl', Buffer.concat([bom, Buffer.from(`${row}\n`)]));
  assert.equal(await detectFormat(j), 'jsonl');
  assert.deepEqual((await readDocuments(j))[0].entities[0].text, 'François Hollande');
  const c = file('bom.conll', Buffer.concat([bom, Buffer.from('François B-PER\nHollande I-PER\n')]));
  assert.equal((await readDocuments(c))[0].entities[0].text, 'François Hollande');
  const t = file('bom.txt', Buffer.concat([bom, Buffer.from('Zoë lives in Köln.')]));
  assert.equal((await readDocuments(t))[0].text, 'Zoë lives in Köln.');
});

test('Latin-1 input is refused with file, line and byte offset, or decoded with --encoding', async () => {
  const latin1 = Buffer.from('Angela Merkel met\nFrançois Hollande in Paris.\n', 'latin1');
  const p = file('latin1.txt', latin1);
  await assert.rejects(readDocuments(p), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /latin1\.txt:2: not valid UTF-8: byte 0xe7 at byte offset 22.*--encoding/);
    return true;
  });
  const [doc] = await readDocuments(p, { encoding: 'latin1' });
  assert.equal(doc.text, 'Angela Merkel met\nFrançois Hollande in Paris.\n');

  // the same through the command line: one line, exit 2, no stack; then decoded with --encoding
  const offline = offlineConfig(trainSmallCrf());
  const out = join(dir, 'latin1-out.jsonl');
  const refused = el4ner(['run', '--config', offline, '--input', p, '--output', out]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /latin1\.txt:2: not valid UTF-8: byte 0xe7 at byte offset 22/);
  assert.ok(!hasStack(refused.stderr));
  const ok = el4ner(['run', '--config', offline, '--input', p, '--output', out, '--encoding', 'latin1']);
  assert.equal(ok.code, 0, ok.stderr);
  const row = JSON.parse(readFileSync(out, 'utf8').trim());
  assert.equal(row.text, doc.text);
  assert.ok(!row.text.includes('\uFFFD'));

  const unknown = el4ner([
    'run',
    '--config',
    offline,
    '--input',
    p,
    '--output',
    out,
    '--encoding',
    'klingon',
  ]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--encoding "klingon" is not an encoding/);
});

test('UTF-16 with a byte-order mark is decoded; binary data is refused with its byte offset', async () => {
  const u16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Zoë in Köln\n', 'utf16le')]);
  assert.equal((await readDocuments(file('u16.txt', u16)))[0].text, 'Zoë in Köln\n');

  // a binary file that happens to be valid UTF-8 up to a NUL
  const elf = file('program.txt', Buffer.concat([Buffer.from('\x7fELF abc'), Buffer.from([0, 1, 2, 3])]));
  await assert.rejects(
    readDocuments(elf),
    /program\.txt:1: binary data: a NUL (byte|character) at byte offset 8/,
  );
  // random bytes in a .conll file: never turned into "entities"
  const rnd = file('random.conll', Buffer.concat([Buffer.from('EU B-ORG\n'), randomBytes(4096)]));
  await assert.rejects(readDocuments(rnd), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /random\.conll:\d+: (binary data|not valid UTF-8)/);
    return true;
  });
});

test('train-slm checks entity offsets like every other command', () => {
  const [first, ...rest] = conllLines('train', 40);
  const bad = JSON.parse(first);
  bad.entities[0] = { ...bad.entities[0], end: bad.entities[0].end + 1 }; // text no longer matches
  const pool = file('bad-offsets.jsonl', `${[JSON.stringify(bad), ...rest].join('\n')}\n`);
  const r = el4ner(['train-slm', '--pool', pool, '--out', join(dir, 'm.crf'), '--max-iter', '2']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /bad-offsets\.jsonl:1: entities\[0\]: text .* does not match text\.slice/);
  assert.doesNotMatch(r.stderr, /iter \d+ loss/);
});

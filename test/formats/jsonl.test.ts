import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { readDocuments, writeDocuments } from '../../src/formats/index.js';

const dir = mkdtempSync(join(tmpdir(), 'el4ner-jsonl-'));

function file(name: string, lines: unknown[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return p;
}

async function rejectsAt(
  p: Promise<unknown>,
  file: string,
  line: number | undefined,
  message: RegExp,
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof InputError, `not an InputError: ${String(err)}`);
    assert.equal(err.file, file);
    assert.equal(err.line, line);
    assert.match(err.message, message);
    return true;
  });
}

const shared = {
  id: 'conll2003-test-0',
  tokens: ['SOCCER', '-', 'JAPAN', 'GET', 'LUCKY'],
  tags: ['O', 'O', 'B-LOC', 'O', 'O'],
  text: 'SOCCER - JAPAN GET LUCKY',
  entities: [{ start: 9, end: 14, type: 'LOC', text: 'JAPAN' }],
};

test('reads the shared format: tokens get offsets, tags and entities kept, extra keys in meta', async () => {
  const p = file('shared.jsonl', [{ ...shared, source: 'reuters' }]);
  const [doc] = await readDocuments(p);
  assert.equal(doc.id, 'conll2003-test-0');
  assert.deepEqual(doc.tokens?.[2], { text: 'JAPAN', start: 9, end: 14 });
  assert.deepEqual(doc.tags, shared.tags);
  assert.deepEqual(doc.entities, shared.entities);
  assert.deepEqual(doc.meta, { source: 'reuters' });
});

test('writes the shared format back byte for byte (tokens as strings, meta at the top level)', async () => {
  const rec = { ...shared, source: 'reuters' };
  const p = file('rt.jsonl', [rec]);
  const out = join(dir, 'rt-out.jsonl');
  await writeDocuments(out, await readDocuments(p));
  assert.equal(readFileSync(out, 'utf8'), `${JSON.stringify(rec)}\n`);
});

test('id defaults to <file stem>-<record index>; duplicate ids are an error at the line', async () => {
  const p = file('noid.jsonl', [{ text: 'a' }, '', { text: 'b', entities: [] }]);
  const docs = await readDocuments(p);
  assert.deepEqual(
    docs.map((d) => [d.id, d.entities.length]),
    [
      ['noid-0', 0],
      ['noid-1', 0],
    ],
  );
  const dup = file('dup.jsonl', [
    { id: 'x', text: 'a' },
    { id: 'x', text: 'b' },
  ]);
  await rejectsAt(readDocuments(dup), dup, 2, /duplicate document id "x" \(first at .*dup.jsonl:1\)/);
});

test('an entity whose text does not match text.slice(start, end) is an error at file:line', async () => {
  const p = file('bad.jsonl', [
    shared,
    { id: 'b', text: 'Barack Obama', entities: [{ start: 0, end: 5, type: 'PER', text: 'Barack' }] },
  ]);
  await rejectsAt(
    readDocuments(p),
    p,
    2,
    /entities\[0\]: text "Barack" does not match text.slice\(0, 5\) = "Barac"/,
  );
});

test('malformed input is an error at file:line, never dropped', async () => {
  const cases: [unknown[], number, RegExp][] = [
    [[shared, '{"id": "x", "text": '], 2, /invalid JSON/],
    [[{ id: 'a' }], 1, /"text" must be a string/],
    [[{ text: 'ab', entities: [{ start: 0, end: 9, type: 'X' }] }], 1, /outside the text/],
    [[{ text: 'ab', entities: [{ start: 1, end: 1, type: 'X' }] }], 1, /not after start/],
    [[{ text: 'ab', entities: [{ start: 0, end: 1 }] }], 1, /type must be a non-empty string/],
    [[{ text: 'ab', entities: [{ start: '0', end: 1, type: 'X' }] }], 1, /start must be an integer/],
    [[{ text: 'a b', tokens: ['a', 'b'], tags: ['O'] }], 1, /1 tags for 2 tokens/],
    [[{ text: 'a b', tokens: ['a', 'b'], tags: ['O', 'X-PER'] }], 1, /invalid tag "X-PER"/],
    [[{ text: 'a b', tokens: ['a', 'c'] }], 1, /"tokens" do not match "text"/],
    [[{ text: 'a b c', tokens: ['a', 'b'] }], 1, /goes on after the last token/],
    [[{ text: 'a', tags: ['O'] }], 1, /"tags" given without "tokens"/],
    [[{ text: 'a😀b', entities: [{ start: 0, end: 2, type: 'X' }] }], 1, /surrogate pair/],
  ];
  for (const [i, [lines, line, message]] of cases.entries()) {
    const p = file(`err${i}.jsonl`, lines);
    await rejectsAt(readDocuments(p, { format: 'jsonl' }), p, line, message);
  }
});

test('id and text only is valid input; entities come from tags when absent', async () => {
  const p = file('plain.jsonl', [
    { id: 'p1', text: 'Just text.' },
    { id: 'p2', text: 'Ms Li spoke', tokens: ['Ms', 'Li', 'spoke'], tags: ['O', 'I-PER', 'O'] },
  ]);
  const docs = await readDocuments(p);
  assert.deepEqual(docs[0].entities, []);
  // I- after O is repaired into a span start.
  assert.deepEqual(docs[1].entities, [{ start: 3, end: 5, type: 'PER', text: 'Li' }]);
});

test('codepoint offsets are converted on read and on write', async () => {
  const rec = { id: 'e', text: '😀 Paris', entities: [{ start: 2, end: 7, type: 'LOC', text: 'Paris' }] };
  const p = file('cp.jsonl', [rec]);
  const [doc] = await readDocuments(p, { offsets: 'codepoint' });
  assert.deepEqual(doc.entities[0], { start: 3, end: 8, type: 'LOC', text: 'Paris' });
  await rejectsAt(readDocuments(p), p, 1, /does not match.*offsets: codepoint/);
  const out = join(dir, 'cp-out.jsonl');
  await writeDocuments(out, [doc], { offsets: 'codepoint' });
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).entities, rec.entities);
});

test('score, sources and label aliases are kept', async () => {
  const p = file('extra.jsonl', [
    {
      id: 's',
      text: 'Obama',
      entities: [{ start: 0, end: 5, label: 'PER', score: 0.9, sources: [{ model: 'm', stage: 'extract' }] }],
    },
  ]);
  const [doc] = await readDocuments(p);
  assert.deepEqual(doc.entities[0], {
    start: 0,
    end: 5,
    type: 'PER',
    text: 'Obama',
    score: 0.9,
    sources: [{ model: 'm', stage: 'extract' }],
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { detectFormat, readDocuments, writeDocuments } from '../../src/formats/index.js';

const dir = mkdtempSync(join(tmpdir(), 'el4ner-spacy-'));

function file(name: string, lines: unknown[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return p;
}

test('reads ents, spans, [start, end, label] tuples and ["text", {entities}] lines', async () => {
  const p = file('train.jsonl', [
    { text: 'Obama visited Paris', ents: [{ start: 0, end: 5, label: 'PER' }] },
    {
      text: 'Obama visited Paris',
      spans: [{ start: 14, end: 19, label: 'LOC', text: 'Paris', token_start: 2 }],
      id: 'k',
    },
    {
      text: 'Obama visited Paris',
      entities: [
        [0, 5, 'PER'],
        [14, 19, 'LOC'],
      ],
    },
    ['Obama visited Paris', { entities: [[14, 19, 'LOC']] }],
  ]);
  assert.equal(await detectFormat(p), 'spacy');
  const docs = await readDocuments(p);
  assert.deepEqual(
    docs.map((d) => [d.id, d.entities.map((e) => `${e.type}:${e.text}`)]),
    [
      ['train-0', ['PER:Obama']],
      ['k', ['LOC:Paris']],
      ['train-2', ['PER:Obama', 'LOC:Paris']],
      ['train-3', ['LOC:Paris']],
    ],
  );
});

test('offsets are code points by default (Python), UTF-16 on request; writing uses ents', async () => {
  const text = '😀😀 Paris';
  const p = file('emoji.jsonl', [{ id: 'e', text, ents: [{ start: 3, end: 8, label: 'LOC' }] }]);
  const [doc] = await readDocuments(p);
  assert.deepEqual(doc.entities, [{ start: 5, end: 10, type: 'LOC', text: 'Paris' }]);
  await assert.rejects(
    readDocuments(p, { offsets: 'utf16' }),
    (e: unknown) => e instanceof InputError && e.line === 1,
  );
  const out = join(dir, 'out.jsonl');
  await writeDocuments(out, [doc], { format: 'spacy' });
  assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), {
    id: 'e',
    text,
    ents: [{ start: 3, end: 8, label: 'LOC' }],
  });
  const back = await readDocuments(out);
  assert.deepEqual(back[0].entities, doc.entities);
});

test('errors carry file:line: mismatched text, two entity keys, bad tuples', async () => {
  const cases: [unknown, RegExp][] = [
    [{ text: 'Obama', spans: [{ start: 0, end: 5, label: 'PER', text: 'Obam' }] }, /does not match/],
    [{ text: 'Obama', ents: [], spans: [] }, /both "ents" and "spans"/],
    [{ text: 'Obama', entities: [[0, 5]] }, /must be \[start, end, label\]/],
    [{ text: 'Obama', ents: [{ start: 0, end: 6, label: 'PER' }] }, /outside the text/],
  ];
  for (const [i, [rec, message]] of cases.entries()) {
    const p = file(`bad${i}.jsonl`, [{ text: 'fine' }, rec]);
    await assert.rejects(readDocuments(p, { format: 'spacy' }), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.file, p);
      assert.equal(e.line, 2);
      assert.match(e.message, message);
      return true;
    });
  }
});

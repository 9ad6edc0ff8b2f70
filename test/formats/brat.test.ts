import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import type { NerDocument } from '../../src/core/types.js';
import { detectFormat, type FormatWarning, readDocuments, writeDocuments } from '../../src/formats/index.js';

const root = mkdtempSync(join(tmpdir(), 'el4ner-brat-'));

function folder(name: string, files: Record<string, string>): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  for (const [f, c] of Object.entries(files)) writeFileSync(join(d, f), c);
  return d;
}

test('reads a folder of pairs; relations, events, attributes and notes are counted, triggers skipped', async () => {
  const d = folder('corpus', {
    'b.txt': 'Barack Obama visited Paris.\n',
    'b.ann': [
      'T1\tPER 0 12\tBarack Obama',
      'T2\tLOC 21 26\tParis',
      'T3\tTravel 13 20\tvisited',
      'E1\tTravel:T3 Agent:T1 Dest:T2',
      'R1\tLocated Arg1:T1 Arg2:T2',
      'A1\tNegated E1',
      '#1\tAnnotatorNotes T1\tpresident',
      '',
    ].join('\n'),
    'a.txt': 'No entities here.',
    'a.ann': '',
  });
  assert.equal(await detectFormat(d), 'brat');
  const warnings: FormatWarning[] = [];
  const docs = await readDocuments(d, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(
    docs.map((x) => x.id),
    ['a', 'b'],
  );
  assert.deepEqual(docs[1].entities, [
    { start: 0, end: 12, type: 'PER', text: 'Barack Obama' },
    { start: 21, end: 26, type: 'LOC', text: 'Paris' },
  ]);
  const messages = warnings.map((w) => w.message).join('\n');
  assert.match(messages, /1 event trigger\(s\) are not entities: skipped/);
  assert.match(messages, /ignored 1 event, 1 relation, 1 attribute, 1 note/);
});

test('discontinuous entities are an error by default, skipped with a warning on request', async () => {
  const d = folder('disc', {
    'x.txt': 'North and South Korea',
    'x.ann': 'T1\tLOC 0 5;16 21\tNorth Korea\nT2\tLOC 10 21\tSouth Korea\n',
  });
  await assert.rejects(readDocuments(d), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(e.file, join(d, 'x.ann'));
    assert.equal(e.line, 1);
    assert.match(e.message, /discontinuous entity T1 \(LOC 0 5;16 21\) is not supported/);
    return true;
  });
  const warnings: FormatWarning[] = [];
  const docs = await readDocuments(d, { discontinuous: 'skip', onWarning: (w) => warnings.push(w) });
  assert.deepEqual(
    docs[0].entities.map((e) => e.text),
    ['South Korea'],
  );
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].line, 1);
});

test('brat offsets are code points; mismatched text and unknown lines are errors at file:line', async () => {
  const ok = folder('emoji', { 'e.txt': '😀 Paris', 'e.ann': 'T1\tLOC 2 7\tParis\n' });
  const [doc] = await readDocuments(ok);
  assert.deepEqual(doc.entities, [{ start: 3, end: 8, type: 'LOC', text: 'Paris' }]);
  const bad = folder('bad', { 'e.txt': 'Paris', 'e.ann': 'T1\tLOC 0 5\tParis\nT2\tLOC 0 4\tParis\n' });
  await assert.rejects(
    readDocuments(bad),
    (e: unknown) => e instanceof InputError && e.line === 2 && /does not match/.test(e.message),
  );
  const odd = folder('odd', { 'e.txt': 'Paris', 'e.ann': 'X1\twhat\n' });
  await assert.rejects(readDocuments(odd), /e.ann:1: unknown brat annotation line/);
  const orphan = folder('orphan', { 'e.ann': '', 'f.txt': '' });
  await assert.rejects(readDocuments(orphan, { format: 'brat' }), /e.ann has no e.txt beside it/);
});

test('writes pairs to a folder (or one pair) and reads them back identically', async () => {
  const docs: NerDocument[] = [
    {
      id: 'set/doc-1',
      text: '👩‍👩‍👧 Li Ming\nmet Ann.',
      entities: [
        { start: 9, end: 16, type: 'PER', text: 'Li Ming' },
        { start: 12, end: 16, type: 'GIVEN', text: 'Ming' }, // nested is fine in brat
        { start: 21, end: 24, type: 'PER', text: 'Ann' },
      ],
    },
    { id: 'doc-2', text: 'Nothing.', entities: [] },
  ];
  const out = join(root, 'out');
  await writeDocuments(out, docs, { format: 'brat' });
  assert.deepEqual(readdirSync(out).sort(), ['doc-2.ann', 'doc-2.txt', 'set_doc-1.ann', 'set_doc-1.txt']);
  // Code points: the family emoji is 8 UTF-16 units but 5 code points.
  assert.equal(
    readFileSync(join(out, 'set_doc-1.ann'), 'utf8'),
    'T1\tPER 6 13\tLi Ming\nT2\tGIVEN 9 13\tMing\nT3\tPER 18 21\tAnn\n',
  );
  const back = await readDocuments(out);
  assert.deepEqual(
    back.map((d) => d.entities),
    [docs[1].entities, docs[0].entities],
  );
  const pair = join(root, 'single', 'one.ann');
  await writeDocuments(pair, [docs[0]]);
  const [one] = await readDocuments(pair);
  assert.equal(one.id, 'one');
  assert.deepEqual(one.entities, docs[0].entities);
  await assert.rejects(writeDocuments(join(root, 'x.ann'), docs), /2 documents cannot go into one brat pair/);
});

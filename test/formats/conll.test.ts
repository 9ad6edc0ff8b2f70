import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import type { NerDocument } from '../../src/core/types.js';
import { formatConll, readConll } from '../../src/formats/conll.js';
import { type FormatWarning, readDocuments, writeDocuments } from '../../src/formats/index.js';
import { readJsonl } from '../../src/formats/jsonl.js';

const dir = mkdtempSync(join(tmpdir(), 'el4ner-conll-'));
const repoRoot = resolve(import.meta.dirname, '../..');

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function rejectsAt(
  p: Promise<unknown>,
  file: string | undefined,
  line: number | undefined,
  message: RegExp,
) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof InputError, `not an InputError: ${String(err)}`);
    assert.equal(err.file, file);
    assert.equal(err.line, line);
    assert.match(err.message, message);
    return true;
  });
}

const CONLL03 = `-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

-DOCSTART- -X- -X- O

BRUSSELS NNP B-NP B-LOC
1996-08-22 CD I-NP O
`;

test('reads 4-column CoNLL-2003 with -DOCSTART- and writes it back identically', async () => {
  const p = file('eng.testb', CONLL03);
  const docs = await readDocuments(p); // detected by content
  assert.equal(docs.length, 3);
  assert.deepEqual(
    docs.map((d) => d.id),
    ['eng-0', 'eng-1', 'eng-2'],
  );
  assert.equal(docs[0].text, 'EU rejects German call .');
  assert.deepEqual(docs[0].entities, [
    { start: 0, end: 2, type: 'ORG', text: 'EU' },
    { start: 11, end: 17, type: 'MISC', text: 'German' },
  ]);
  assert.deepEqual(docs[1].entities, [{ start: 0, end: 15, type: 'PER', text: 'Peter Blackburn' }]);
  assert.equal(docs[0].meta?.docstart, '-DOCSTART- -X- -X- O');
  assert.equal(docs[1].meta?.docstart, undefined);
  assert.equal(docs[2].meta?.docstart, '-DOCSTART- -X- -X- O');
  assert.deepEqual(docs[0].tokens?.[1], { text: 'rejects', start: 3, end: 10 });
  const out = join(dir, 'eng-out.conll');
  await writeDocuments(out, docs);
  assert.equal(readFileSync(out, 'utf8'), `${CONLL03}\n`);
});

test('token and tag columns and a tab separator are configurable', async () => {
  const p = file('tab.tsv', 'B-PER\tx\tNew York\nO\tx\tis\n\nB-LOC\tx\tParis\n');
  const docs = await readConll(p, { tokenCol: 2, tagCol: 0, sep: 'tab' });
  assert.deepEqual(
    docs.map((d) => d.text),
    ['New York is', 'Paris'],
  );
  assert.deepEqual(docs[0].entities, [{ start: 0, end: 8, type: 'PER', text: 'New York' }]);
  // Writing with the same options restores the file (its three columns were kept).
  assert.equal(formatConll(docs, { tokenCol: 2, tagCol: 0, sep: 'tab' }), `${readFileSync(p, 'utf8')}\n`);
  // A token with a space cannot be written with a whitespace separator.
  assert.throws(
    () => formatConll([{ ...docs[0], meta: undefined }]),
    /token 0 "New York" contains the column separator/,
  );
});

test('wrong column count and unknown tag prefixes are errors at file:line', async () => {
  const cols = file('cols.conll', 'EU B-ORG\nrejects O\n\nGerman JJ B-MISC\n');
  await rejectsAt(readConll(cols), cols, 4, /expected 2 columns \(as on line 1\), found 3/);
  const bad = file('bad.conll', 'EU B-ORG\n\nPeter X-PER\n');
  await rejectsAt(readConll(bad), bad, 3, /invalid tag "X-PER"/);
  const one = file('one.conll', 'EU\n');
  await rejectsAt(readConll(one), one, 1, /1 column\(s\) cannot hold/);
  const far = file('far.conll', 'EU B-ORG\n');
  await rejectsAt(
    readConll(far, { tagCol: 3 }),
    far,
    1,
    /cannot hold the token in column 0 and the tag in column 3/,
  );
});

test('I- after O is repaired into a span start; E- without B- is a one-token span', async () => {
  const p = file('repair.conll', 'the O\nLi I-PER\nMing I-PER\nsaw O\nParis E-LOC\n');
  const [doc] = await readConll(p);
  assert.deepEqual(
    doc.entities.map((e) => [e.text, e.type]),
    [
      ['Li Ming', 'PER'],
      ['Paris', 'LOC'],
    ],
  );
});

test('IOB1 input is detected and written back as IOB1', async () => {
  const text = 'Peter I-PER\nJohn B-PER\nand O\nEU I-ORG\n';
  const p = file('iob1.conll', text);
  const docs = await readConll(p);
  assert.deepEqual(
    docs[0].entities.map((e) => e.text),
    ['Peter', 'John', 'EU'],
  );
  assert.equal(formatConll(docs), `${text}\n`);
  assert.equal(formatConll(docs, { scheme: 'BIO' }), 'Peter B-PER\nJohn B-PER\nand O\nEU B-ORG\n\n');
});

test('BIOES and BMES writing by option', () => {
  const doc: NerDocument = {
    id: 'd',
    text: 'Li Ka Shing met Ann',
    entities: [
      { start: 0, end: 11, type: 'PER', text: 'Li Ka Shing' },
      { start: 16, end: 19, type: 'PER', text: 'Ann' },
    ],
  };
  assert.equal(
    formatConll([doc], { scheme: 'BIOES' }),
    'Li B-PER\nKa I-PER\nShing E-PER\nmet O\nAnn S-PER\n\n',
  );
  assert.equal(
    formatConll([doc], { scheme: 'BMES' }),
    'Li B-PER\nKa M-PER\nShing E-PER\nmet O\nAnn S-PER\n\n',
  );
});

test('documents without tokens are tokenized, split at entity boundaries so no entity is lost', async () => {
  const doc: NerDocument = {
    id: 'raw',
    text: 'I met 👩‍👩‍👧 in NewYork.',
    entities: [
      { start: 'I met 👩‍👩‍👧 in '.length, end: 'I met 👩‍👩‍👧 in New'.length, type: 'LOC', text: 'New' },
    ],
  };
  const out = formatConll([doc]);
  assert.equal(out, 'I O\nmet O\n👩‍👩‍👧 O\nin O\nNew B-LOC\nYork O\n. O\n\n');
  const p = file('raw.conll', out);
  const [back] = await readConll(p);
  // The text read back is the tokens joined by single spaces.
  assert.equal(back.text, 'I met 👩‍👩‍👧 in New York .');
  assert.deepEqual(back.entities, [
    { start: back.text.indexOf('New'), end: back.text.indexOf('New') + 3, type: 'LOC', text: 'New' },
  ]);
});

test('an entity that does not match the document tokens is an error naming the document', () => {
  const doc: NerDocument = {
    id: 'mis',
    text: 'NewYork',
    tokens: [{ text: 'NewYork', start: 0, end: 7 }],
    entities: [{ start: 0, end: 3, type: 'LOC', text: 'New' }],
  };
  assert.throws(
    () => formatConll([doc]),
    /document "mis": entity LOC "New" \[0, 3\) does not start and end at token boundaries/,
  );
  assert.throws(() => formatConll([{ id: 'e', text: '  ', entities: [] }]), /"e" has no tokens/);
});

test('nested entities cannot be written to CoNLL: the error names the document', async () => {
  const doc: NerDocument = {
    id: 'nested-7',
    text: 'Bank of China',
    entities: [
      { start: 0, end: 13, type: 'ORG', text: 'Bank of China' },
      { start: 8, end: 13, type: 'GPE', text: 'China' },
    ],
  };
  const out = join(dir, 'nested.conll');
  await assert.rejects(writeDocuments(out, [doc]), /document "nested-7" has nested or overlapping entities/);
});

test('-DOCSTART- with no sentence is reported, not silently dropped', async () => {
  const p = file('empty-doc.conll', '-DOCSTART- O\n\n-DOCSTART- O\n\nA B-X\n');
  const warnings: FormatWarning[] = [];
  const docs = await readConll(p, { onWarning: (w) => warnings.push(w) });
  assert.equal(docs.length, 1);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].line, 3);
});

// Reading speed is a benchmark figure, not a test condition (the machine may be busy).
test('reads a 14k-sentence CoNLL file (CoNLL-2003 train) exactly', async () => {
  const train = await readJsonl(resolve(repoRoot, '../shared/data/conll2003/train.jsonl'));
  assert.equal(train.length, 14041);
  const p = file('train.conll', formatConll(train));
  const docs = await readConll(p);
  assert.equal(docs.length, 14041);
  assert.equal(
    docs.reduce((n, d) => n + d.entities.length, 0),
    23499,
  );
  for (let i = 0; i < docs.length; i++) {
    assert.equal(docs[i].text, train[i].text);
    assert.deepEqual(docs[i].entities, train[i].entities);
  }
});

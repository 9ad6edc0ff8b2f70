import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { detectFormat, outputFormatOf, readDocuments } from '../../src/formats/index.js';

const root = mkdtempSync(join(tmpdir(), 'el4ner-text-'));

function write(rel: string, content: string): string {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, content);
  return p;
}

test('a .txt file is one document (id = stem, text exact, no entities); a folder is read sorted', async () => {
  const a = write('texts/b-second.txt', 'Second text.\n');
  write('texts/a-first.txt', 'First 😀 text');
  write('texts/notes.md', 'ignored: not .txt');
  assert.deepEqual(await readDocuments(a), [{ id: 'b-second', text: 'Second text.\n', entities: [] }]);
  const docs = await readDocuments(join(root, 'texts'));
  assert.deepEqual(
    docs.map((d) => [d.id, d.text]),
    [
      ['a-first', 'First 😀 text'],
      ['b-second', 'Second text.\n'],
    ],
  );
});

test('format detection by extension and content', async () => {
  const cases: [string, string, string][] = [
    ['d/shared.jsonl', '{"id":"a","text":"x","entities":[]}\n', 'jsonl'],
    ['d/spacy.jsonl', '{"text":"x","spans":[]}\n', 'spacy'],
    ['d/train.txt', '-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n', 'conll'],
    ['d/weiboNER.train', '李 B-PER.NAM\n开 I-PER.NAM\n', 'conll'],
    ['d/x.bmes', 'anything\n', 'conll'],
    ['d/story.txt', 'Once upon a time.\n', 'text'],
    ['d/nolabel.data', '{"text":"x"}\n', 'jsonl'],
  ];
  for (const [rel, content, format] of cases)
    assert.equal(await detectFormat(write(rel, content)), format, rel);
  write('pair/doc.txt', 'A');
  write('pair/doc.ann', '');
  assert.equal(await detectFormat(join(root, 'pair/doc.txt')), 'brat');
  await assert.rejects(detectFormat(write('d/mystery.bin', 'a b c d\n')), InputError);
  await assert.rejects(detectFormat(join(root, 'missing.jsonl')), /no such file/);
  assert.equal(outputFormatOf('out/x.jsonl'), 'jsonl');
  assert.equal(outputFormatOf('out/x.conll'), 'conll');
  assert.equal(outputFormatOf(join(root, 'new-folder')), 'brat');
  assert.equal(outputFormatOf('out/x.unknown'), null);
});

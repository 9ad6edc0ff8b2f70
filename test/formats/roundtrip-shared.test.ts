/**
 * Done-when check: every shared test set with tags converts to CoNLL and back with identical
 * entities; the nested sets (no tags) fail with an error that names a document. Every set also
 * goes through spaCy JSONL and brat (both hold nested entities) unchanged.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { formatConll, readConll } from '../../src/formats/conll.js';
import { readDocuments, writeDocuments } from '../../src/formats/index.js';
import { formatJsonl, readJsonl } from '../../src/formats/jsonl.js';
import { formatSpacy, readSpacy } from '../../src/formats/spacy.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const dataDir = resolve(repoRoot, '../shared/data');
const tmp = mkdtempSync(join(tmpdir(), 'el4ner-rt-'));

const sets = existsSync(dataDir)
  ? readdirSync(dataDir)
      .filter((s) => existsSync(join(dataDir, s, 'test.jsonl')))
      .sort()
  : [];

test('the shared data sets are there', () => {
  assert.ok(existsSync(dataDir), `${dataDir} is missing: tests need ../shared/data beside the repository`);
  for (const s of ['conll2003', 'wnut17', 'genia', 'litbank', 'weibo', 'resume', 'chisiec'])
    assert.ok(sets.includes(s), s);
});

const strip = (es: { start: number; end: number; type: string; text: string }[]) =>
  es.map(({ start, end, type, text }) => ({ start, end, type, text }));

for (const set of sets) {
  test(`${set}: test.jsonl -> CoNLL -> back (identical entities, or an error for nested sets)`, async () => {
    const src = join(dataDir, set, 'test.jsonl');
    const docs = await readJsonl(src);
    assert.ok(docs.length > 0);
    const tagged = docs.every((d) => d.tags !== undefined);
    const out = join(tmp, `${set}.conll`);
    if (!tagged) {
      await assert.rejects(writeDocuments(out, docs), (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.match(
          err.message,
          new RegExp(`document "${set}-test-\\d+" has nested or overlapping entities`),
        );
        return true;
      });
      assert.ok(!existsSync(out), 'nothing is written when a document cannot be');
      return;
    }
    writeFileSync(out, formatConll(docs));
    const back = await readConll(out);
    assert.equal(back.length, docs.length);
    for (let i = 0; i < docs.length; i++) {
      assert.equal(back[i].text, docs[i].text, `${docs[i].id} text`);
      assert.deepEqual(strip(back[i].entities), strip(docs[i].entities), `${docs[i].id} entities`);
      assert.deepEqual(back[i].tokens, docs[i].tokens, `${docs[i].id} tokens`);
    }
    // Tags come back in the same scheme; the only changes allowed are IOB2 repairs (`O I-X` -> `O B-X`).
    for (let i = 0; i < docs.length; i++) {
      const a = docs[i].tags ?? [];
      const b = back[i].tags ?? [];
      assert.equal(b.length, a.length);
      for (let k = 0; k < a.length; k++) {
        if (a[k] === b[k]) continue;
        const type = a[k].slice(2);
        assert.ok(
          a[k].startsWith('I-') && b[k] === `B-${type}`,
          `${docs[i].id} tag ${k}: ${a[k]} -> ${b[k]}`,
        );
        assert.ok(k === 0 || a[k - 1].slice(2) !== type, `${docs[i].id} tag ${k}: not a repair`);
      }
    }
    // And on to JSONL: with the ids put back, the records equal the shared file's where no tag was repaired.
    for (let i = 0; i < docs.length; i++) {
      if (JSON.stringify(back[i].tags) !== JSON.stringify(docs[i].tags)) continue;
      assert.equal(formatJsonl([{ ...back[i], id: docs[i].id }]), formatJsonl([docs[i]]));
    }
  });

  test(`${set}: test.jsonl -> spaCy JSONL -> back keeps every entity`, async () => {
    const docs = await readJsonl(join(dataDir, set, 'test.jsonl'));
    const out = join(tmp, `${set}.spacy.jsonl`);
    writeFileSync(out, formatSpacy(docs));
    const back = await readSpacy(out);
    assert.deepEqual(
      back.map((d) => [d.id, d.text, strip(d.entities)]),
      docs.map((d) => [d.id, d.text, strip(d.entities)]),
    );
  });
}

test('wnut17 (emoji, astral characters) -> brat -> back keeps every entity', async () => {
  const docs = await readJsonl(join(dataDir, 'wnut17', 'test.jsonl'));
  const out = join(tmp, 'wnut17-brat');
  await writeDocuments(out, docs, { format: 'brat' });
  const back = await readDocuments(out, { onWarning: () => assert.fail('no warnings expected') });
  const byId = new Map(back.map((d) => [d.id, d]));
  assert.equal(byId.size, docs.length);
  for (const d of docs) assert.deepEqual(strip(byId.get(d.id)?.entities ?? []), strip(d.entities), d.id);
});

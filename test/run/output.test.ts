import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { ResumableJsonlWriter } from '../../src/run/output.js';
import { createProgress, progressIntervalS, progressLine } from '../../src/run/progress.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'el4ner-out-'));

test('resume skips finished ids and cuts a half-written last line', () => {
  const file = join(tmp(), 'out.jsonl');
  const w = ResumableJsonlWriter.open(file);
  w.write({ id: 'a' });
  w.write({ id: 'b' });
  w.close();
  appendFileSync(file, '{"id":"c","ent'); // killed mid-write
  const w2 = ResumableJsonlWriter.open(file);
  assert.deepEqual(w2.resumeInfo, { kept: 2, truncatedBytes: 14 });
  assert.equal(w2.has('a'), true);
  assert.equal(w2.has('c'), false);
  w2.write({ id: 'c' });
  assert.throws(() => w2.write({ id: 'a' }), /already written/);
  w2.close();
  const rows = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    rows.map((r) => r.id),
    ['a', 'b', 'c'],
  );
});

test('without resume an existing file is replaced; a corrupt complete row is an error with its line', () => {
  const dir = tmp();
  const file = join(dir, 'out.jsonl');
  writeFileSync(file, '{"id":"x"}\n');
  const w = ResumableJsonlWriter.open(file, { resume: false });
  w.write({ id: 'y' });
  w.close();
  assert.equal(readFileSync(file, 'utf8'), '{"id":"y"}\n');
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"id":"x"}\nnot json\n');
  assert.throws(
    () => ResumableJsonlWriter.open(bad),
    (e: unknown) => e instanceof InputError && /bad\.jsonl:2/.test(e.message),
  );
});

test('plain progress lines carry count, rate and ETA', async () => {
  assert.equal(progressLine('docs', 50, 200, 10_000), 'docs: 50/200 (25.0%) 5.0/s ETA 30s');
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (d) => {
    out += d;
  });
  const p = await createProgress({ total: 3, stream, intervalS: 0, label: 'docs' });
  p.tick();
  p.tick(2);
  p.stop();
  assert.match(out, /docs: 1\/3 \(33\.3%\)/);
  assert.doesNotMatch(out, /docs: 3\/3 \(100\.0%\)[^\n]*\n[\s\S]*docs: 3\/3/);
  assert.match(out, /docs: 3\/3 \(100\.0%\).*done/);
});

test('plain progress lines: every 10 s, or every EL4NER_PROGRESS_INTERVAL seconds when it is a number >= 0', () => {
  assert.equal(progressIntervalS({}), 10);
  assert.equal(progressIntervalS({ EL4NER_PROGRESS_INTERVAL: '0' }), 0);
  assert.equal(progressIntervalS({ EL4NER_PROGRESS_INTERVAL: ' 2.5 ' }), 2.5);
  assert.equal(progressIntervalS({ EL4NER_PROGRESS_INTERVAL: '-1' }), 10);
  assert.equal(progressIntervalS({ EL4NER_PROGRESS_INTERVAL: 'often' }), 10);
  assert.equal(progressIntervalS({ EL4NER_PROGRESS_INTERVAL: '' }), 10);
});

/**
 * A page of tens of thousands of documents is tens of MB, which a browser opens slowly or not at
 * all: `el4ner view` still writes it, and says so with the way out (--limit).
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { el4nerAsync, jsonl, tmpDir } from '../support/cli.js';

test('`el4ner view` of more than 10000 documents points to --limit; with --limit it does not', async () => {
  const dir = tmpDir('el4ner-view-large-');
  const input = join(dir, 'pred.jsonl');
  const docs = Array.from({ length: 10_001 }, (_, i) => ({
    id: `d${i}`,
    text: 'Ann met Bob in Rome.',
    entities: [{ start: 15, end: 19, type: 'LOC', text: 'Rome' }],
  }));
  writeFileSync(input, jsonl(docs));
  const out = join(dir, 'view.html');
  const all = await el4nerAsync(['view', '--input', input, '--out', out]);
  assert.equal(all.code, 0, all.stderr);
  assert.ok(existsSync(out));
  assert.match(all.stderr, /wrote .*view\.html \(10001 documents\)/);
  assert.match(
    all.stderr,
    /^el4ner: the page holds 10001 documents \(\d+ MB\): a browser may take long to open it or give up; --limit N shows the first N/m,
  );
  const some = await el4nerAsync(['view', '--input', input, '--out', out, '--limit', '100']);
  assert.equal(some.code, 0, some.stderr);
  assert.match(some.stderr, /\(100 of 10001 documents\)/);
  assert.doesNotMatch(some.stderr, /--limit N/);
});

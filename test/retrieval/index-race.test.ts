/**
 * Issue 18, defect 8: workers starting together built the same index folder through shared temp
 * names and died with `ENOENT: rename`. Several builders (async in one process, and separate
 * processes) race on one folder; every one must finish and the folder must hold one whole index.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { NerDocument } from '../../src/core/types.js';
import { LexicalEmbedder } from '../../src/retrieval/embedders.js';
import { buildIndex, buildOrLoadIndex, loadIndex } from '../../src/retrieval/index.js';

function doc(id: string, text: string, ents: string[]): NerDocument {
  return {
    id,
    text,
    entities: ents.map((span) => {
      const start = text.indexOf(span);
      return { start, end: start + span.length, type: 'X', text: span };
    }),
  };
}

const POOL: NerDocument[] = [
  doc('a', 'Angela Merkel visited Paris on Monday .', ['Angela Merkel', 'Paris']),
  doc('b', 'The weather was fine .', []),
  doc('c', 'Shares of Siemens rose in Frankfurt .', ['Siemens', 'Frankfurt']),
];

const tmpDirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'el4ner-race-'));
  tmpDirs.push(d);
  return d;
}
after(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

describe('concurrent builders of one index folder', () => {
  const opts = { embedder: new LexicalEmbedder({ dim: 64 }) };

  it('all finish, and the folder holds one whole index (same pool, in one process)', async () => {
    const dir = await tmp();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => buildOrLoadIndex({ docs: POOL }, dir, opts)),
    );
    assert.ok(results.some((r) => r.rebuilt));
    for (const r of results) assert.equal(r.index.manifest.sentences, 3);
    const back = await loadIndex(dir);
    assert.deepEqual(back.docs, POOL);
    assert.deepEqual(back.spanVectors, results[0].index.spanVectors);
    const names = await readdir(dir);
    assert.deepEqual(
      names.filter((n) => n.startsWith('data-')),
      [back.manifest.data],
      'superseded data removed',
    );
    assert.deepEqual(
      names.filter((n) => n.startsWith('.')),
      [],
      'no temp folder or lock left',
    );
  });

  it('never leave a torn index when the builders index different pools', async () => {
    const dir = await tmp();
    const pools = Array.from({ length: 5 }, (_, i) =>
      POOL.map((d) => ({ ...d, id: `${d.id}-${i}` })).slice(0, 1 + (i % 3)),
    );
    await Promise.all(pools.map((docs) => buildOrLoadIndex({ docs }, dir, opts)));
    const back = await loadIndex(dir);
    const which = pools.findIndex((p) => p.length === back.docs.length && p[0].id === back.docs[0].id);
    assert.ok(which >= 0, 'the folder holds one of the pools');
    assert.deepEqual(back.docs, pools[which]);
    const want = await buildIndex(pools[which], opts);
    assert.deepEqual(back.spanVectors, want.spanVectors);
    assert.deepEqual(back.spanSentence, want.spanSentence);
    assert.deepEqual(back.sentenceVectors, want.sentenceVectors);
  });

  it('all finish when they are separate processes starting together', async () => {
    const dir = await tmp();
    const poolFile = path.join(await tmp(), 'pool.jsonl');
    await writeFile(poolFile, POOL.map((d) => JSON.stringify(d)).join('\n'));
    const worker = fileURLToPath(new URL('./support/build-index-worker.ts', import.meta.url));
    const runs = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<{ code: number | null; out: string }>((resolve) => {
            const p = spawn(process.execPath, ['--import', 'tsx', worker, poolFile, dir], {
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            let out = '';
            p.stdout.on('data', (b) => (out += b));
            p.stderr.on('data', (b) => (out += b));
            p.on('close', (code) => resolve({ code, out }));
          }),
      ),
    );
    for (const r of runs) {
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /sentences 3/);
    }
    const back = await loadIndex(dir);
    assert.deepEqual(back.docs, POOL);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('.')),
      [],
    );
  });
});

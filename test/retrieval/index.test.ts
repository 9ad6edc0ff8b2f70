import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { NerDocument } from '../../src/core/types.js';
import { LexicalEmbedder } from '../../src/retrieval/embedders.js';
import {
  buildIndex,
  buildOrLoadIndex,
  INDEX_FILES,
  loadIndex,
  readManifest,
  saveIndex,
} from '../../src/retrieval/index.js';
import { parsePoolJsonl } from '../../src/retrieval/pool-reader.js';

function doc(id: string, text: string, ents: [string, string][]): NerDocument {
  return {
    id,
    text,
    entities: ents.map(([span, type]) => {
      const start = text.indexOf(span);
      return { start, end: start + span.length, type, text: span };
    }),
  };
}

const POOL: NerDocument[] = [
  doc('a', 'Angela Merkel visited Paris on Monday .', [
    ['Angela Merkel', 'PER'],
    ['Paris', 'LOC'],
  ]),
  doc('b', 'The weather was fine .', []),
  doc('c', 'Shares of Siemens rose in Frankfurt .', [
    ['Siemens', 'ORG'],
    ['Frankfurt', 'LOC'],
    ['Frankfurt', 'MISC'], // same span twice: indexed once
  ]),
];

const tmpDirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'el4ner-retrieval-'));
  tmpDirs.push(d);
  return d;
}
after(async () => {
  for (const d of tmpDirs) await rm(d, { recursive: true, force: true });
});

describe('buildIndex', () => {
  it('stores one matrix row per distinct span, mapped to its sentence', async () => {
    const idx = await buildIndex(POOL, { embedder: new LexicalEmbedder({ dim: 256 }) });
    assert.equal(idx.dim, 256);
    assert.equal(idx.manifest.spans, 4);
    assert.deepEqual([...idx.spanSentence], [0, 0, 2, 2]);
    assert.equal(idx.spanVectors.length, 4 * 256);
    assert.equal(idx.sentenceVectors?.length, 3 * 256);
    // span-meta: start, end, POS code; spans point at their text.
    for (let j = 0; j < 4; j++) {
      const d = POOL[idx.spanSentence[j]];
      const [start, end] = [idx.spanMeta[3 * j], idx.spanMeta[3 * j + 1]];
      assert.ok(d.entities.some((e) => e.start === start && e.end === end));
    }
  });

  it("uses the preExtract callback for spans 'llm' and drops spans that are not in the text", async () => {
    const seen: string[] = [];
    const idx = await buildIndex(POOL, {
      embedder: new LexicalEmbedder({ dim: 64 }),
      spans: 'llm',
      preExtractIdentity: 'test-extractor',
      preExtract: (text) => {
        seen.push(text);
        const words = text.split(' ').filter((w) => /^[A-Z]/.test(w));
        return [
          ...words.map((w) => ({ start: -1, end: -1, text: w })), // relocated by text
          { start: 0, end: 3, text: 'not what is there' },
          { start: 0, end: 1000, text: 'out of range' },
        ];
      },
    });
    assert.equal(seen.length, 3);
    // a: Angela, Merkel, Paris, Monday; b: The; c: Shares, Siemens, Frankfurt
    assert.equal(idx.manifest.spans, 8);
    assert.equal(idx.manifest.settings.preExtract, 'test-extractor');
    await assert.rejects(buildIndex(POOL, { embedder: new LexicalEmbedder(), spans: 'llm' }), /preExtract/);
  });
});

describe('index persistence', () => {
  it('round-trips through the folder', async () => {
    const dir = await tmp();
    const idx = await buildIndex(POOL, {
      embedder: new LexicalEmbedder({ dim: 128 }),
      weights: 'paper-rank',
    });
    await saveIndex(idx, dir);
    const back = await loadIndex(dir);
    assert.deepEqual(back.manifest, idx.manifest);
    assert.deepEqual(back.spanVectors, idx.spanVectors);
    assert.deepEqual(back.spanSentence, idx.spanSentence);
    assert.deepEqual(back.spanMeta, idx.spanMeta);
    assert.deepEqual(back.sentenceVectors, idx.sentenceVectors);
    assert.deepEqual(back.docs, POOL);
    assert.deepEqual(back.manifest.settings.weights, { PROPN: 1, NOUN: 2, PRON: 4, other: 1 });
    const lazy = await loadIndex(dir, { lazySentences: true });
    assert.equal(lazy.sentenceVectors, undefined);
  });

  it('rejects a truncated matrix file', async () => {
    const dir = await tmp();
    await saveIndex(await buildIndex(POOL, { embedder: new LexicalEmbedder({ dim: 32 }) }), dir);
    const f = path.join(dir, INDEX_FILES.spans);
    await writeFile(f, (await readFile(f)).subarray(0, 40));
    await assert.rejects(loadIndex(dir), /spans\.f32/);
  });

  it('rebuilds only when the pool content or the settings change', async () => {
    const dir = await tmp();
    const poolFile = path.join(await tmp(), 'pool.jsonl');
    const write = (docs: NerDocument[]) => writeFile(poolFile, docs.map((d) => JSON.stringify(d)).join('\n'));
    await write(POOL);
    const opts = { embedder: new LexicalEmbedder({ dim: 64 }) };

    const r1 = await buildOrLoadIndex({ poolFile }, dir, opts);
    assert.equal(r1.rebuilt, true);
    assert.equal(r1.reason, 'no index yet');
    const m1 = await readManifest(dir);

    const r2 = await buildOrLoadIndex({ poolFile }, dir, opts);
    assert.equal(r2.rebuilt, false);
    assert.equal(r2.reason, 'up to date');
    assert.equal(r2.index.manifest.sentences, 3);

    await write([...POOL, doc('d', 'Rome is nice .', [['Rome', 'LOC']])]);
    const r3 = await buildOrLoadIndex({ poolFile }, dir, opts);
    assert.equal(r3.rebuilt, true);
    assert.equal(r3.reason, 'pool changed');
    const m3 = await readManifest(dir);
    assert.notEqual(m3?.poolHash, m1?.poolHash);
    assert.equal(m3?.sentences, 4);

    const r4 = await buildOrLoadIndex({ poolFile }, dir, { ...opts, weights: 'paper-rank' });
    assert.equal(r4.rebuilt, true);
    assert.equal(r4.reason, 'settings changed');
    const r5 = await buildOrLoadIndex({ poolFile }, dir, {
      embedder: new LexicalEmbedder({ dim: 32 }),
      weights: 'paper-rank',
    });
    assert.equal(r5.reason, 'settings changed');
    assert.equal(r5.index.dim, 32);

    // Documents given in memory are hashed by content too.
    const r6 = await buildOrLoadIndex({ docs: POOL }, dir, opts);
    assert.equal(r6.rebuilt, true);
    const r7 = await buildOrLoadIndex({ docs: POOL.map((d) => ({ ...d })) }, dir, opts);
    assert.equal(r7.rebuilt, false);
  });
});

describe('parsePoolJsonl', () => {
  it('reads the shared format and rebuilds token offsets', () => {
    const line = JSON.stringify({
      id: 'x',
      tokens: ['EU', 'rejects', 'it'],
      tags: ['B-ORG', 'O', 'O'],
      text: 'EU rejects it',
      entities: [{ start: 0, end: 2, type: 'ORG', text: 'EU' }],
    });
    const [d] = parsePoolJsonl(`${line}\n\n`);
    assert.equal(d.text, 'EU rejects it');
    assert.deepEqual(d.tokens?.[1], { text: 'rejects', start: 3, end: 10 });
    assert.deepEqual(d.tags, ['B-ORG', 'O', 'O']);
  });

  it('reports bad lines with their number', () => {
    assert.throws(
      () => parsePoolJsonl('{"text":"a b","entities":[]}\n{oops', 'p.jsonl'),
      /p\.jsonl:2: invalid JSON/,
    );
    assert.throws(
      () => parsePoolJsonl('{"text":"ab","entities":[{"start":0,"end":1,"type":"X","text":"b"}]}', 'p.jsonl'),
      /p\.jsonl:1: entity text/,
    );
    assert.throws(
      () => parsePoolJsonl('{"text":"ab","entities":[{"start":0,"end":9,"type":"X"}]}'),
      /outside/,
    );
  });
});

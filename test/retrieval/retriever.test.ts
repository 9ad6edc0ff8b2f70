import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { NerDocument } from '../../src/core/types.js';
import { LexicalEmbedder } from '../../src/retrieval/embedders.js';
import { saveIndex } from '../../src/retrieval/index.js';
import { parsePoolJsonl } from '../../src/retrieval/pool-reader.js';
import { DEFAULT_K, DemonstrationRetriever } from '../../src/retrieval/retriever.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function doc(id: string, text: string, spans: string[]): NerDocument {
  return {
    id,
    text,
    entities: spans.map((s) => {
      const start = text.indexOf(s);
      return { start, end: start + s.length, type: 'X', text: s };
    }),
  };
}

const POOL = [
  doc('0', 'Obama spoke in the morning .', ['Obama']),
  doc('1', 'Then he left without a word .', ['he']),
  doc('2', 'Rain fell on the hills .', []),
  doc('3', 'Merkel and Macron met in Berlin .', ['Merkel', 'Macron', 'Berlin']),
  doc('4', 'Shares in Siemens fell sharply .', ['Siemens']),
  doc('5', 'Obama met Merkel in Berlin .', ['Obama', 'Merkel', 'Berlin']),
];

describe('DemonstrationRetriever', () => {
  const embedder = new LexicalEmbedder({ dim: 512 });

  it('span-level: the sentence whose spans match the query spans comes first', async () => {
    const r = await DemonstrationRetriever.build(POOL, { embedder });
    const res = await r.retrieve([{ text: 'Merkel' }, { text: 'Berlin' }], 'Merkel flew to Berlin .', {
      k: 3,
    });
    assert.equal(res.length, 3);
    assert.ok([3, 5].includes(res[0].index));
    assert.ok([3, 5].includes(res[1].index));
    assert.ok(Math.abs(res[0].score - 1) < 1e-6, 'both spans found exactly');
    assert.ok(res[0].score >= res[1].score && res[1].score >= res[2].score);
    assert.equal(res[0].index, 3, 'tie broken towards the lower pool index');
    assert.equal(r.sentence(res[0].index).id, '3');
    assert.throws(() => r.sentence(99), RangeError);
  });

  it('POS weights change the ranking: default favours proper nouns, paper-rank pronouns', async () => {
    const r = await DemonstrationRetriever.build(POOL, { embedder });
    const spans = [{ text: 'Obama' }, { text: 'he' }];
    const text = 'Obama said he would come .';
    assert.deepEqual(await r.queryPos(spans, text), ['PROPN', 'PRON']);
    const byDefault = await r.retrieve(spans, text, { k: 1 });
    const byPaper = await r.retrieve(spans, text, { k: 1, weights: 'paper-rank' });
    assert.equal(byDefault[0].index, 0);
    assert.equal(byPaper[0].index, 1);
    // Given POS tags are used as they are.
    const forced = await r.retrieve(
      [
        { text: 'Obama', pos: 'PRON' },
        { text: 'he', pos: 'PROPN' },
      ],
      text,
      { k: 1 },
    );
    assert.equal(forced[0].index, 1);
  });

  it('sentence-embedding, random and none modes', async () => {
    const r = await DemonstrationRetriever.build(POOL, { embedder });
    const se = await r.retrieve([], 'Rain fell on the hills .', { mode: 'sentence-embedding', k: 2 });
    assert.equal(se[0].index, 2, 'sentences without spans are retrievable');
    assert.ok(Math.abs(se[0].score - 1) < 1e-6);

    const a = await r.retrieve([], 'query one', { mode: 'random', k: 4, seed: 1 });
    const b = await r.retrieve([], 'query one', { mode: 'random', k: 4, seed: 1 });
    assert.deepEqual(a, b);
    assert.equal(new Set(a.map((x) => x.index)).size, 4);
    const many = new Set<string>();
    for (let s = 0; s < 10; s++) {
      const x = await r.retrieve([], 'query one', { mode: 'random', k: 4, seed: s });
      many.add(x.map((y) => y.index).join(','));
    }
    assert.ok(many.size > 1, 'the seed matters');

    assert.deepEqual(await r.retrieve([{ text: 'Obama' }], 'Obama', { mode: 'none' }), []);
    await assert.rejects(r.retrieve([], 'x', { mode: 'bogus' as 'none' }), /unknown retrieval mode/);
  });

  it('k, exclusions and a query without spans', async () => {
    const r = await DemonstrationRetriever.build(POOL, { embedder });
    assert.equal((await r.retrieve([{ text: 'Obama' }], 'Obama', {})).length, DEFAULT_K);
    assert.equal((await r.retrieve([{ text: 'Obama' }], 'Obama', { k: 100 })).length, POOL.length);
    assert.deepEqual(await r.retrieve([{ text: 'Obama' }], 'Obama', { k: 0 }), []);
    const ex = await r.retrieve([{ text: 'Obama' }], 'Obama', { k: 2, exclude: [0] });
    assert.equal(ex[0].index, 5);
    assert.ok(!ex.some((x) => x.index === 0));
    const fallback = await r.retrieve([], 'Rain fell on the hills .', { k: 1 });
    assert.equal(fallback[0].index, 2, 'no spans: falls back to sentence embeddings');
    assert.deepEqual(await r.retrieve([{ text: '  ' }], 'x', { noSpans: 'none' }), []);
  });

  it('a pool without any span answers span-level queries (every score 0, lowest indices first)', async () => {
    const r = await DemonstrationRetriever.build(
      POOL.map((d) => ({ ...d, entities: [] })),
      { embedder },
    );
    assert.equal(r.index.manifest.spans, 0);
    assert.equal(r.index.dim, 512);
    const hits = await r.retrieve([{ text: 'Obama' }], 'Obama spoke .', { k: 2 });
    assert.deepEqual(hits, [
      { index: 0, score: 0 },
      { index: 1, score: 0 },
    ]);
  });

  it('saves, loads lazily and checks the embedder', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'el4ner-retriever-'));
    try {
      const built = await DemonstrationRetriever.build(POOL, { embedder });
      await saveIndex(built.index, dir);
      const r = await DemonstrationRetriever.load(dir, embedder);
      assert.equal(r.size, POOL.length);
      const q = [{ text: 'Siemens' }];
      assert.deepEqual(
        await r.retrieve(q, 'Siemens shares', {}),
        await built.retrieve(q, 'Siemens shares', {}),
      );
      const se = await r.retrieve([], 'Shares in Siemens fell sharply .', {
        mode: 'sentence-embedding',
        k: 1,
      });
      assert.equal(se[0].index, 4);
      await assert.rejects(DemonstrationRetriever.load(dir, new LexicalEmbedder({ dim: 64 })), /embedder/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('on CoNLL data, span-level demonstrations share entity types more often than random ones', async () => {
    const read = (f: string) =>
      parsePoolJsonl(readFileSync(path.resolve(repoRoot, '../shared/data/conll2003', f), 'utf8'), f);
    const pool = read('train.jsonl').slice(0, 2000);
    const queries = read('dev.jsonl')
      .filter((d) => d.entities.length > 0)
      .slice(0, 60);
    const r = await DemonstrationRetriever.build(pool, { embedder });
    const share = async (mode: 'span-level' | 'random') => {
      let hit = 0;
      let total = 0;
      for (const q of queries) {
        const types = new Set(q.entities.map((e) => e.type));
        const res = await r.retrieve(
          q.entities.map((e) => ({ text: e.text, start: e.start, end: e.end })),
          q.text,
          { mode, k: 5 },
        );
        for (const x of res) {
          total++;
          if (r.sentence(x.index).entities.some((e) => types.has(e.type))) hit++;
        }
      }
      return hit / total;
    };
    const span = await share('span-level');
    const rand = await share('random');
    assert.ok(span > rand + 0.1, `span-level ${span.toFixed(3)} vs random ${rand.toFixed(3)}`);
  });
});

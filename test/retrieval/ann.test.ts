import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LexicalEmbedder, type SpanEmbedder } from '../../src/retrieval/embedders.js';
import { buildIndex, saveIndex } from '../../src/retrieval/index.js';
import { parsePoolJsonl } from '../../src/retrieval/pool-reader.js';
import { DemonstrationRetriever } from '../../src/retrieval/retriever.js';

const dataDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data');

/** A dense stand-in for an embedding model: the lexical vector through a fixed random projection. */
class ProjectedEmbedder implements SpanEmbedder {
  readonly identity = 'test-projected:v1:96';
  private readonly lex = new LexicalEmbedder({ dim: 256 });
  private readonly proj = Float32Array.from(
    { length: 256 * 96 },
    (_, i) => (Math.sin(i * 12.9898 + 1) * 43758.5453) % 1,
  );
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => {
      const x = this.lex.embedOne(t);
      const v = new Float32Array(96);
      for (let a = 0; a < 256; a++)
        if (x[a]) for (let b = 0; b < 96; b++) v[b] += x[a] * this.proj[a * 96 + b];
      let n = 0;
      for (const y of v) n += y * y;
      return v.map((y) => y / Math.sqrt(n));
    });
  }
}

describe('approximate span-level retrieval (usearch HNSW)', () => {
  const read = (split: string) => {
    const f = path.join(dataDir, 'wnut17', `${split}.jsonl`);
    return parsePoolJsonl(readFileSync(f, 'utf8'), f);
  };

  it('finds the exact top 5 for nearly every query, with exact scores, and survives save and load', async () => {
    const embedder = new ProjectedEmbedder();
    const pool = read('train');
    const r = await DemonstrationRetriever.build(pool, { embedder, approximate: { candidates: 32 } });
    assert.ok(r.index.ann);
    const queries = read('dev')
      .filter((d) => d.entities.length > 0)
      .slice(0, 60);
    let found = 0;
    const dir = await mkdtemp(path.join(tmpdir(), 'el4ner-ann-'));
    try {
      await saveIndex(r.index, dir);
      const loaded = await DemonstrationRetriever.load(dir, embedder);
      assert.ok(loaded.index.ann, 'the graph is loaded with the index');
      for (const q of queries) {
        const spans = q.entities.map((e) => ({ text: e.text, start: e.start, end: e.end }));
        const approx = await r.retrieve(spans, q.text, { k: 5 });
        const exact = await r.retrieve(spans, q.text, { k: 5, exact: true });
        assert.deepEqual(await loaded.retrieve(spans, q.text, { k: 5 }), approx);
        const exactScore = new Map(exact.map((h) => [h.index, h.score]));
        const kth = exact[exact.length - 1].score;
        for (const h of approx) {
          if (exactScore.has(h.index)) assert.equal(h.score, exactScore.get(h.index), 'scores are exact');
          if (h.score >= kth) found++;
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const recall = found / (5 * queries.length);
    assert.ok(recall >= 0.9, `recall ${recall}`);
  });

  it('is refused for the lexical embedder, whose posting lists are exact', async () => {
    await assert.rejects(
      buildIndex(read('train').slice(0, 50), { embedder: new LexicalEmbedder(), approximate: true }),
      /approximate index is for dense vectors/,
    );
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LexicalEmbedder } from '../../src/retrieval/embedders.js';
import { parsePoolJsonl } from '../../src/retrieval/pool-reader.js';
import { DemonstrationRetriever } from '../../src/retrieval/retriever.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('retrieval on Chinese data (Weibo, one character per token)', () => {
  it('indexes the pool and finds the sentence that holds the same entity', async () => {
    const file = path.resolve(repoRoot, '../shared/data/weibo/train.jsonl');
    const pool = parsePoolJsonl(readFileSync(file, 'utf8'), file).slice(0, 400);
    const r = await DemonstrationRetriever.build(pool, { embedder: new LexicalEmbedder() });
    assert.ok(r.index.manifest.spans > 0);
    // Every pool span is an entity: PROPN, except pronouns (PRON) in the CJK heuristic.
    const codes = new Set(
      Array.from({ length: r.index.manifest.spans }, (_, j) => r.index.spanMeta[3 * j + 2]),
    );
    assert.ok(codes.size <= 2);

    const withEntities = pool.map((d, i) => ({ d, i })).filter(({ d }) => d.entities.length > 0);
    let checked = 0;
    for (const { d, i } of withEntities.slice(0, 20)) {
      const e = d.entities[0];
      // A query that contains the entity in another sentence.
      const queryText = `今 天 ${e.text} 很 好`;
      const start = 4;
      const hits = await r.retrieve([{ text: e.text, start, end: start + e.text.length }], queryText, {
        k: 3,
      });
      assert.equal(hits.length, 3);
      assert.ok(Math.abs(hits[0].score - 1) < 1e-6, `exact entity ${e.text} found`);
      const top = r.sentence(hits[0].index);
      assert.ok(
        top.entities.some((x) => x.text.replace(/ /g, '') === e.text.replace(/ /g, '')),
        `sentence ${i}: top hit holds ${e.text}`,
      );
      checked++;
    }
    assert.ok(checked >= 10);
    const pos = await r.queryPos([{ text: '我' }, { text: '北 京' }], '我 在 北 京');
    assert.deepEqual(pos, ['PRON', 'PROPN']);
  });
});

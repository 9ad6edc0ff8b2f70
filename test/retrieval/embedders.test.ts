import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EmbedResponse, emptyUsage } from '../../src/engines/types.js';
import { EngineEmbedder, LexicalEmbedder } from '../../src/retrieval/embedders.js';

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe('LexicalEmbedder', () => {
  const emb = new LexicalEmbedder();

  it('gives unit vectors of the configured dimension', async () => {
    const texts = ['Germany', 'a', '', 'European Union', '北 京', '😀 emoji', 'x'.repeat(500)];
    const vecs = await emb.embed(texts);
    assert.equal(vecs.length, texts.length);
    for (const v of vecs) {
      assert.equal(v.length, 1024);
      assert.ok(Math.abs(dot(v, v) - 1) < 1e-5, `norm² ${dot(v, v)}`);
    }
    const small = new LexicalEmbedder({ dim: 64, minN: 3, maxN: 3 });
    const [v] = await small.embed(['ab']);
    assert.equal(v.length, 64);
    assert.ok(Math.abs(dot(v, v) - 1) < 1e-5);
  });

  it('puts similar strings closer than dissimilar ones', async () => {
    const [germany, german, brazil, GERMANY] = await emb.embed(['Germany', 'German', 'Brazil', 'GERMANY']);
    assert.ok(dot(germany, german) > 0.5);
    assert.ok(dot(germany, german) > dot(germany, brazil) + 0.3);
    assert.ok(Math.abs(dot(germany, GERMANY) - 1) < 1e-6, 'lower-cased');
    const [a, b, c] = await emb.embed(['Bank of England', 'bank  of england', 'Manchester United']);
    assert.ok(Math.abs(dot(a, b) - 1) < 1e-6, 'whitespace collapsed');
    assert.ok(dot(a, c) < 0.3);
  });

  it('ignores the spaces between CJK characters', async () => {
    const [a, b] = await emb.embed(['北 京 大 学', '北京大学']);
    assert.ok(Math.abs(dot(a, b) - 1) < 1e-6);
  });

  it('is deterministic and names its settings', async () => {
    const [a] = await emb.embed(['Wimbledon']);
    const [b] = await new LexicalEmbedder().embed(['Wimbledon']);
    assert.deepEqual(a, b);
    assert.notEqual(emb.identity, new LexicalEmbedder({ dim: 512 }).identity);
  });
});

describe('EngineEmbedder', () => {
  function fakeEngine() {
    const calls: string[][] = [];
    return {
      calls,
      identity: 'fake:embed',
      async embed(texts: string[]): Promise<EmbedResponse> {
        calls.push(texts);
        // Not normalised on purpose: length-dependent vectors.
        return {
          vectors: texts.map((t) => Float32Array.from([t.length, 1, t.charCodeAt(0) || 0])),
          usage: emptyUsage(),
          latencyMs: 1,
        };
      },
    };
  }

  it('batches, normalises and caches', async () => {
    const engine = fakeEngine();
    const emb = new EngineEmbedder(engine, { batchSize: 2 });
    assert.equal(emb.identity, 'engine:fake:embed');
    const v = await emb.embed(['a', 'bb', 'ccc', 'a', 'dddd', 'eeeee']);
    assert.deepEqual(
      engine.calls.map((c) => c.length),
      [2, 2, 1],
    );
    assert.equal(emb.sent, 5);
    for (const x of v) assert.ok(Math.abs(dot(x, x) - 1) < 1e-6);
    assert.deepEqual(v[0], v[3]);
    await emb.embed(['bb', 'eeeee']);
    assert.equal(engine.calls.length, 3, 'second call served from the cache');
    await emb.embed(['new']);
    assert.deepEqual(engine.calls.at(-1), ['new']);
  });

  it('works when one call holds more texts than the cache', async () => {
    const engine = fakeEngine();
    const emb = new EngineEmbedder(engine, { batchSize: 3, maxCache: 2 });
    const v = await emb.embed(['a', 'bb', 'ccc', 'dddd']);
    assert.equal(v.length, 4);
    for (const x of v) assert.ok(x instanceof Float32Array);
  });

  it('rejects an engine that returns the wrong number of vectors', async () => {
    const emb = new EngineEmbedder({
      identity: 'bad',
      async embed() {
        return { vectors: [], usage: emptyUsage(), latencyMs: 0 };
      },
    });
    await assert.rejects(emb.embed(['x']), /returned 0 vectors for 1/);
  });
});

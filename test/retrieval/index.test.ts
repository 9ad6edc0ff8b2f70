import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { NerDocument } from '../../src/core/types.js';
import { LexicalEmbedder } from '../../src/retrieval/embedders.js';
import {
  buildIndex,
  buildOrLoadIndex,
  INDEX_FORMAT_VERSION,
  loadIndex,
  readManifest,
  saveIndex,
} from '../../src/retrieval/index.js';
import { parsePoolJsonl } from '../../src/retrieval/pool-reader.js';
import { storeRow } from '../../src/retrieval/vectors.js';

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
  it('stores one row per distinct span text, each pool span mapped to its row and sentence', async () => {
    const pool = [...POOL, doc('d', 'Frankfurt won .', [['Frankfurt', 'ORG']])];
    const embedder = new LexicalEmbedder({ dim: 256 });
    const idx = await buildIndex(pool, { embedder });
    assert.equal(idx.dim, 256);
    assert.equal(idx.manifest.spans, 5);
    assert.equal(idx.manifest.spanRows, 4, 'Frankfurt is embedded once');
    assert.deepEqual([...idx.spanSentence], [0, 0, 2, 2, 3]);
    assert.deepEqual([...idx.spanVector], [0, 1, 2, 3, 3]);
    // The lexical embedder's vectors are sparse: posting lists, values bit-for-bit its own.
    assert.equal(idx.spanVectors.kind, 'sparse');
    assert.equal(idx.spanVectors.rows, 4);
    assert.deepEqual(storeRow(idx.spanVectors, 3), embedder.embedOne('Frankfurt'));
    assert.equal(idx.sentenceVectors?.rows, 4);
    assert.deepEqual(storeRow(idx.sentenceVectors!, 2), embedder.embedOne(pool[2].text));
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
    assert.deepEqual(back.spanVector, idx.spanVector);
    assert.deepEqual(back.spanSentence, idx.spanSentence);
    assert.deepEqual(back.spanMeta, idx.spanMeta);
    assert.deepEqual(back.sentenceVectors, idx.sentenceVectors);
    assert.deepEqual(back.docs, POOL);
    assert.deepEqual(back.manifest.settings.weights, { PROPN: 1, NOUN: 2, PRON: 4, other: 1 });
    const lazy = await loadIndex(dir, { lazySentences: true });
    assert.equal(lazy.sentenceVectors, undefined);
  });

  it('rejects a truncated vector file, naming it', async () => {
    const dir = await tmp();
    await saveIndex(await buildIndex(POOL, { embedder: new LexicalEmbedder({ dim: 512 }) }), dir);
    const m = await readManifest(dir);
    assert.equal(m?.stores.spans.kind, 'sparse');
    const f = path.join(dir, m!.data, 'spans.values.f32');
    await writeFile(f, (await readFile(f)).subarray(0, 40));
    await assert.rejects(loadIndex(dir), /spans\.values\.f32: 40 bytes, expected/);
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

/** A dense embedder (every coordinate non-zero, signed): the lexical vector times a fixed random matrix. */
class ProjectedEmbedder {
  readonly identity = 'test-projected:v1:48';
  private readonly lex = new LexicalEmbedder({ dim: 64 });
  private readonly proj = Float32Array.from({ length: 64 * 48 }, (_, i) => Math.sin(i * 12.9898) * 2);
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => {
      const x = this.lex.embedOne(t);
      const v = new Float32Array(48);
      for (let a = 0; a < 64; a++)
        if (x[a]) for (let b = 0; b < 48; b++) v[b] += x[a] * this.proj[a * 48 + b];
      let n = 0;
      for (const y of v) n += y * y;
      return v.map((y) => y / Math.sqrt(n));
    });
  }
}

describe('dense vectors', () => {
  it('are stored as a float32 matrix, or int8 with a scale per row that loads back identically', async () => {
    const embedder = new ProjectedEmbedder();
    const f32 = await buildIndex(POOL, { embedder });
    assert.equal(f32.spanVectors.kind, 'dense');
    const [want] = await embedder.embed(['Siemens']);
    assert.deepEqual(storeRow(f32.spanVectors, 2), want);
    const i8 = await buildIndex(POOL, { embedder, precision: 'int8' });
    assert.notEqual(i8.manifest.settingsHash, f32.manifest.settingsHash);
    const got = storeRow(i8.spanVectors, 2);
    for (let t = 0; t < 48; t++) assert.ok(Math.abs(got[t] - want[t]) < 0.01, `coordinate ${t}`);
    const dir = await tmp();
    await saveIndex(i8, dir);
    const m = await readManifest(dir);
    assert.deepEqual(m?.stores.spans, { kind: 'dense', rows: 4, dim: 48, precision: 'int8' });
    const back = await loadIndex(dir);
    assert.deepEqual(back.spanVectors, i8.spanVectors, 'a loaded int8 index scores as the built one');
    assert.deepEqual(back.sentenceVectors, i8.sentenceVectors);
  });
});

describe('index folders of format version 1', () => {
  async function v1Folder(): Promise<string> {
    const dir = await tmp();
    await writeFile(
      path.join(dir, 'manifest.json'),
      JSON.stringify({ format: 'el4ner-retrieval-index', version: 1, poolHash: 'x', settingsHash: 'y' }),
    );
    for (const f of ['spans.f32', 'span-sentence.i32', 'span-meta.i32', 'sentences.f32', 'docs.json'])
      await writeFile(path.join(dir, f), 'old');
    return dir;
  }

  it('are refused by loadIndex with a message that says how to rebuild', async () => {
    const dir = await v1Folder();
    await assert.rejects(
      loadIndex(dir),
      new RegExp(`format version 1; this el4ner reads version ${INDEX_FORMAT_VERSION}.*el4ner index --pool`),
    );
  });

  it('are rebuilt by buildOrLoadIndex, and the old files removed', async () => {
    const dir = await v1Folder();
    const r = await buildOrLoadIndex({ docs: POOL }, dir, { embedder: new LexicalEmbedder({ dim: 64 }) });
    assert.equal(r.rebuilt, true);
    assert.match(r.reason, /format version 1 replaced by 2/);
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, [r.index.manifest.data, 'manifest.json'].sort());
    assert.equal((await loadIndex(dir)).manifest.sentences, 3);
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

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { NerDocument } from '../../src/core/types.js';
import { readJsonlDocuments } from '../../src/slm/data.js';
import { ModelFileError } from '../../src/slm/model-file.js';
import { CrfTagger, trainCrf } from '../../src/slm/tagger.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const conllTrain = resolve(repoRoot, '../shared/data/conll2003/train.jsonl');

let docs: NerDocument[];
let tagger: CrfTagger;
let dir: string;

before(async () => {
  docs = (await readJsonlDocuments(conllTrain)).slice(0, 200);
  tagger = await trainCrf(docs, { maxIterations: 60 });
  dir = await mkdtemp(join(tmpdir(), 'el4ner-slm-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a CRF trained on 200 CoNLL sentences fits them', () => {
  assert.deepEqual(tagger.labels[0], 'O');
  assert.equal(tagger.labels.length, 9);
  assert.equal(tagger.scheme, 'BIO');
  const sc = tagger.evaluate(docs);
  assert.ok(sc.f1 > 0.9, `training-set F1 ${sc.f1}`);
});

test('spanProbabilities: over every span, the probabilities of a type add up to its expected number of B- tags', () => {
  // Each B-X starts exactly one maximal B-X I-X* run, so the exact span probabilities summed over
  // all spans equal the summed B-X marginals; a product of token marginals would not.
  const tokens = ['Peter', 'Blackburn', 'of', 'the', 'European', 'Commission', 'visited', 'New', 'York', '.'];
  const spans = tokens.flatMap((_, i) => tokens.slice(i).map((__, j) => ({ start: i, end: i + j + 1 })));
  const probs = tagger.spanProbabilities(tokens, spans);
  const { marginals } = tagger.tagTokens(tokens);
  for (const type of ['PER', 'ORG', 'LOC', 'MISC']) {
    const b = tagger.labels.indexOf(`B-${type}`);
    const expected = marginals.reduce((a, m) => a + m[b], 0);
    const summed = probs.reduce((a, p) => a + p[type], 0);
    assert.ok(Math.abs(summed - expected) < 1e-6, `${type}: ${summed} vs ${expected}`);
  }
  // The Viterbi entities are likely spans, and no span's types exceed probability 1.
  const peter = probs[spans.findIndex((s) => s.start === 0 && s.end === 2)];
  assert.ok(peter.PER > 0.5, `Peter Blackburn as PER: ${peter.PER}`);
  for (const p of probs) assert.ok(Object.values(p).reduce((a, x) => a + x, 0) <= 1 + 1e-9);
});

test('tagTokens gives Viterbi tags and per-token marginals that sum to 1', () => {
  const { tags, marginals } = tagger.tagTokens(['Peter', 'Blackburn', 'visited', 'Germany', '.']);
  assert.equal(tags.length, 5);
  assert.equal(marginals.length, 5);
  for (const m of marginals) {
    assert.equal(m.length, tagger.labels.length);
    const sum = m.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-9);
    for (const p of m) assert.ok(p >= 0 && p <= 1);
  }
  assert.deepEqual(tagger.tagTokens([]), { tags: [], marginals: [] });
});

test('predict returns entities with exact offsets and span scores', () => {
  for (const doc of docs.slice(0, 50)) {
    const pred = tagger.predict({ id: doc.id, text: doc.text });
    for (const e of pred.entities) {
      assert.equal(pred.text.slice(e.start, e.end), e.text);
      assert.ok(e.score !== undefined && e.score > 0 && e.score <= 1);
      assert.equal(e.sources?.[0].stage, 'slm');
    }
  }
  const pred = tagger.predict(docs[0]);
  assert.deepEqual(
    pred.entities.map((e) => [e.start, e.end, e.type]),
    docs[0].entities.map((e) => [e.start, e.end, e.type]),
  );
});

test('save / load round trip predicts the same', async () => {
  const file = join(dir, 'model.crf');
  await tagger.save(file);
  const loaded = await CrfTagger.load(file);
  assert.deepEqual(loaded.labels, tagger.labels);
  assert.equal(loaded.scheme, tagger.scheme);
  for (const doc of docs.slice(0, 40)) {
    const a = tagger.predict(doc).entities;
    const b = loaded.predict(doc).entities;
    assert.deepEqual(
      b.map((e) => [e.start, e.end, e.type]),
      a.map((e) => [e.start, e.end, e.type]),
    );
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i].score ?? 0) - (b[i].score ?? 0)) < 1e-4);
  }
});

/** Writes `tagger`'s model to `path` with its JSON header changed by `edit` (the rest byte for byte). */
async function saveWithHeader(
  path: string,
  edit: (header: {
    version: number;
    featureConfig: Record<string, unknown>;
    lexicons?: { name: string; sha256: string }[];
  }) => void,
  from: CrfTagger = tagger,
): Promise<void> {
  const file = join(dir, 'model.crf');
  await from.save(file);
  const raw = gunzipSync(await readFile(file));
  const headerLen = raw.readUInt32LE(8);
  const header = JSON.parse(raw.subarray(12, 12 + headerLen).toString('utf8'));
  edit(header);
  const bytes = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(bytes.length, 0);
  await writeFile(
    path,
    gzipSync(Buffer.concat([raw.subarray(0, 8), len, bytes, raw.subarray(12 + headerLen)])),
  );
}

test('a model written before the document features loads without them', async () => {
  const withWindows = join(dir, 'windows.crf');
  await saveWithHeader(withWindows, (h) => {
    h.featureConfig.documentWindows = [4, 12];
  });
  assert.equal((await CrfTagger.load(withWindows)).readsContext, true);
  const older = join(dir, 'older.crf');
  await saveWithHeader(older, (h) => {
    delete h.featureConfig.documentWindows;
  });
  const loaded = await CrfTagger.load(older);
  assert.equal(loaded.readsContext, false);
  assert.deepEqual(loaded.featureConfig.documentWindows, []);
  // nor the Chinese word features (jieba) that came later
  assert.equal(tagger.featureConfig.cjkWords, true);
  const noWords = join(dir, 'no-cjk-words.crf');
  await saveWithHeader(noWords, (h) => {
    delete h.featureConfig.cjkWords;
  });
  assert.equal((await CrfTagger.load(noWords)).featureConfig.cjkWords, false);
});

test('a model records its lexicons; one written before them loads without; another lexicon file is refused', async () => {
  assert.deepEqual(tagger.lexicons, [], 'the default recipe reads no lists');
  const withLists = await trainCrf(docs.slice(0, 40), { maxIterations: 3, lexicons: ['en-names-places'] });
  const file = join(dir, 'lexicons.crf');
  await withLists.save(file);
  const loaded = await CrfTagger.load(file);
  assert.deepEqual(
    loaded.lexicons.map((l) => l.spec),
    withLists.lexicons.map((l) => l.spec),
  );
  assert.ok(loaded.attributes(['to', 'Jakarta'])[1].includes('lx0=B-city'));
  assert.deepEqual(loaded.tagTokens(['to', 'Jakarta']).tags, withLists.tagTokens(['to', 'Jakarta']).tags);
  const older = join(dir, 'no-lexicons.crf');
  await saveWithHeader(
    older,
    (h) => {
      delete h.lexicons;
    },
    withLists,
  );
  const old = await CrfTagger.load(older);
  assert.equal(old.lexicons.length, 0);
  assert.ok(
    !old
      .attributes(['to', 'Jakarta'])
      .flat()
      .some((a) => a.startsWith('lx')),
  );
  const other = join(dir, 'other-lexicon.crf');
  await saveWithHeader(
    other,
    (h) => {
      h.lexicons = [{ name: 'en-names-places', sha256: '0'.repeat(64) }];
    },
    withLists,
  );
  await assert.rejects(
    CrfTagger.load(other),
    (e: Error) =>
      e instanceof ModelFileError && /lexicon "en-names-places"/.test(e.message) && /retrain/.test(e.message),
  );
});

test('loading another format version, a truncated or a corrupt file fails clearly', async () => {
  const file = join(dir, 'model.crf');
  await tagger.save(file);
  const raw = gunzipSync(await readFile(file));

  // An older format version (version 1 stored attribute names): rewrite the header.
  const v1 = join(dir, 'v1.crf');
  await saveWithHeader(v1, (h) => {
    h.version = 1;
  });
  await assert.rejects(
    CrfTagger.load(v1),
    (e: Error) =>
      e instanceof ModelFileError &&
      /version 1 is not supported/.test(e.message) &&
      /retrain/.test(e.message),
  );

  const truncated = join(dir, 'truncated.crf');
  const gz = await readFile(file);
  await writeFile(truncated, gz.subarray(0, Math.floor(gz.length / 2)));
  await assert.rejects(
    CrfTagger.load(truncated),
    (e: Error) => e instanceof ModelFileError && /truncated|corrupt/.test(e.message),
  );

  // Flip one weight byte inside an intact gzip stream: only the checksum can catch it.
  const flipped = Buffer.from(raw);
  flipped[flipped.length - 3] ^= 0x40;
  const corrupt = join(dir, 'corrupt.crf');
  await writeFile(corrupt, gzipSync(flipped));
  await assert.rejects(
    CrfTagger.load(corrupt),
    (e: Error) => e instanceof ModelFileError && /checksum/.test(e.message),
  );

  const notModel = join(dir, 'not-a-model.crf');
  await writeFile(notModel, gzipSync(Buffer.from('{"hello": 1}')));
  await assert.rejects(
    CrfTagger.load(notModel),
    (e: Error) => e instanceof ModelFileError && /not an el4ner/.test(e.message),
  );
});

test('trains in the scheme of BMES data and decodes spans from it', async () => {
  const text = (toks: string[]) => toks.join(' ');
  const mk = (id: string, toks: string[], tags: string[]): NerDocument => ({
    id,
    text: text(toks),
    tokens: toks.map((t, i) => {
      const start = toks.slice(0, i).reduce((a, x) => a + x.length + 1, 0);
      return { text: t, start, end: start + t.length };
    }),
    tags,
    entities: [],
  });
  const data: NerDocument[] = [];
  for (let i = 0; i < 30; i++) {
    data.push(
      mk(
        `a${i}`,
        ['我', '在', '北', '京', '市', '工', '作'],
        ['O', 'O', 'B-LOC', 'M-LOC', 'E-LOC', 'O', 'O'],
      ),
    );
    data.push(mk(`b${i}`, ['张', '三', '去', '上', '海'], ['B-PER', 'E-PER', 'O', 'B-LOC', 'E-LOC']));
    data.push(mk(`c${i}`, ['李', '来', '了'], ['S-PER', 'O', 'O']));
  }
  const t = await trainCrf(data, { maxIterations: 40 });
  assert.equal(t.scheme, 'BMES');
  assert.ok(t.labels.includes('M-LOC') && t.labels.includes('S-PER'));
  const pred = t.predict(data[0]);
  assert.deepEqual(
    pred.entities.map((e) => [e.text, e.type]),
    [['北 京 市', 'LOC']],
  );
});

test('a BMES column whose first prefixes are E/S is still read as BMES', async () => {
  const mk = (id: string, toks: string[], tags: string[]): NerDocument => ({
    id,
    text: toks.join(' '),
    tags,
    entities: [],
  });
  const data = [
    mk('s', ['李', '来'], ['S-PER', 'O']),
    mk('m', ['北', '京', '市'], ['B-LOC', 'M-LOC', 'E-LOC']),
  ];
  const t = await trainCrf(data, { maxIterations: 5 });
  assert.equal(t.scheme, 'BMES');
});

test('tag() gives the Viterbi tags of tagTokens() without marginals', () => {
  for (const doc of docs.slice(0, 30)) {
    const toks = (doc.tokens ?? []).map((t) => t.text);
    assert.deepEqual(tagger.tag(toks), tagger.tagTokens(toks).tags);
  }
});

test('with dev, the O bias is chosen on dev and the recorded dev F1 is the returned tagger’s', async () => {
  const all = await readJsonlDocuments(conllTrain);
  const dev = all.slice(200, 300);
  const t = await trainCrf(docs, { maxIterations: 25, evalEvery: 5, dev });
  assert.ok([-1, -0.5, 0, 0.5, 1, 1.5, 2, 3].includes(Number(t.training.oBias)));
  assert.ok(Math.abs(t.evaluate(dev).f1 - Number(t.training.devF1)) < 1e-9);
  const plain = await trainCrf(docs, { maxIterations: 25, evalEvery: 5, dev, tuneOBias: false });
  assert.equal(plain.training.oBias, undefined);
  assert.ok(Number(t.training.devF1) >= Number(plain.training.devF1));
});

test('with dev, training stops once dev F1 has not risen for `patience` iterations, and keeps the best', async () => {
  const all = await readJsonlDocuments(conllTrain);
  const dev = all.slice(200, 260);
  const lines: string[] = [];
  const t = await trainCrf(docs.slice(0, 60), {
    maxIterations: 400,
    evalEvery: 2,
    patience: 6,
    dev,
    tuneOBias: false,
    log: (l) => lines.push(l),
  });
  assert.equal(t.training.stop, 'stopped', lines.slice(-3).join('\n'));
  const scored = lines
    .map((l) => /^iter (\d+) .* dev F1 ([\d.]+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ iteration: Number(m[1]), f1: Number(m[2]) }));
  const best = scored.reduce((a, b) => (b.f1 > a.f1 ? b : a));
  const stoppedAt = Number(t.training.iterations);
  assert.equal(stoppedAt - best.iteration, 6);
  assert.ok(stoppedAt < 400);
  assert.ok(Math.abs(Number(t.training.devF1) - best.f1) < 1e-4);
});

test('predict reads each line as its own sentence: no entity crosses a line break', () => {
  const lines = ['Line one John Smith', 'Line two in London', 'Peter Blackburn visited Germany .'];
  const alone = lines.map((text, i) => tagger.predict({ id: `l${i}`, text }).entities);
  for (const br of ['\n', '\r\n', '\r', '\u2028']) {
    const text = lines.join(br);
    const got = tagger.predict({ id: 'doc', text }).entities;
    let offset = 0;
    const expected = alone.flatMap((entities, i) => {
      const shifted = entities.map((e) => ({ ...e, start: e.start + offset, end: e.end + offset }));
      offset += lines[i].length + br.length;
      return shifted;
    });
    assert.deepEqual(got, expected, JSON.stringify(br));
    for (const e of got) assert.doesNotMatch(e.text, /[\n\r\u2028]/);
  }
  assert.ok(alone.flat().length > 0, 'the lines have entities to compare');
});

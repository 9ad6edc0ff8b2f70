/**
 * The ONNX token classifier on tiny real ONNX graphs written by the test (embeddings, one
 * attention block, a linear classifier) with real tokenizer.json files of the three model kinds,
 * loaded through `loadSlm`, the loader the runner, fusion and the EL4NER voter use.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { slmVoter } from '../../src/assemble/slm-voter.js';
import { ConfigError } from '../../src/core/errors.js';
import { loadSlm, type Slm } from '../../src/slm/load.js';
import { OnnxTagger } from '../../src/slm/onnx/tagger.js';
import { writeModelFolder } from '../support/onnx/folder.js';
import { byteLevelBpeTokenizer, unigramTokenizer, wordPieceTokenizer } from '../support/onnx/tokenizers.js';

const BIO = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'];
const BMES = ['O', 'B-LOC', 'M-LOC', 'E-LOC', 'S-LOC'];

const dir = mkdtempSync(path.join(tmpdir(), 'el4ner-onnx-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const folder = (name: string) => path.join(dir, name);

const sumsToOne = (m: Float64Array) => Math.abs(m.reduce((a, b) => a + b, 0) - 1) < 1e-9;
const maxAbsDiff = (a: Float64Array, b: Float64Array) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

const wordPieceVocab = [
  'Peter',
  '##son',
  'Black',
  '##burn',
  'visited',
  'Paris',
  'and',
  'met',
  'Acme',
  'in',
  'on',
  'Monday',
  '.',
  ',',
  'U',
  'S',
  'the',
  'Berlin',
  ...Array.from({ length: 40 }, (_, i) => `w${i}`),
];

before(async () => {
  await writeModelFolder(folder('wordpiece'), {
    tokenizer: wordPieceTokenizer(wordPieceVocab),
    labels: BIO,
    tokenLabels: {
      Peter: 'B-PER',
      '##son': 'I-PER',
      Black: 'I-PER',
      '##burn': 'I-PER',
      Paris: 'B-LOC',
      Berlin: 'B-LOC',
      Acme: 'B-ORG',
      U: 'B-LOC',
      S: 'I-LOC',
      w7: 'B-PER',
      w8: 'I-PER',
    },
  });
  await writeModelFolder(folder('bpe-bmes'), {
    // Every word gets its leading space (Ġ). ' 我' and ' 在' become one token each; 北, 亗, 京 and 匬
    // stay three tokens: Ġ merged with the first byte, then the other two bytes.
    tokenizer: byteLevelBpeTokenizer(
      [' Paris', ' Peter', 'son', ' visited', ' 我', ' 在'],
      [
        ['Ġ', 'å'],
        ['Ġ', 'ä'],
      ],
    ),
    labels: BMES,
    tokenLabels: {
      ĠParis: 'S-LOC',
      // 北 = (Ġ e5) 8c 97 -> B M M; 京 = (Ġ e4) ba ac -> M M E; 亗 = (Ġ e4) ba 97 -> M M M; 匬 = (Ġ e5) 8c ac -> B M E.
      Ġå: 'B-LOC',
      Į: 'M-LOC',
      '\u0139': 'M-LOC',
      Ġä: 'M-LOC',
      º: 'M-LOC',
      '¬': 'E-LOC',
    },
  });
  await writeModelFolder(folder('unigram'), {
    tokenizer: unigramTokenizer([
      ['▁', -3],
      ['▁Paris', -4],
      ['ian', -5],
      ['▁Peter', -4],
      ['▁visited', -4],
      ['▁the', -3],
      ['▁museum', -5],
      ['▁mu', -8],
      ['seum', -8],
      ...'abcdefghijklmnopqrstuvwxyz.'.split('').map((c): [string, number] => [c, -10]),
    ]),
    labels: BIO,
    tokenLabels: { '▁Paris': 'B-LOC', ian: 'I-LOC', '▁Peter': 'B-PER' },
  });
});

describe('loading an Optimum-layout folder', () => {
  it('reads labels from config.json, the scheme from them, and the window length from the model', async () => {
    const slm = await loadSlm({ kind: 'onnx', path: folder('wordpiece') });
    assert.equal(slm.kind, 'onnx');
    assert.equal(slm.name, 'onnx');
    assert.deepEqual(slm.labels, BIO);
    assert.equal(slm.scheme, 'BIO');
    const bmes = await loadSlm({ kind: 'onnx', path: folder('bpe-bmes') });
    assert.equal(bmes.scheme, 'BMES');
    const t = await OnnxTagger.load(folder('wordpiece'));
    assert.equal(t.maxLength, 64, 'max_position_embeddings / model_max_length of the folder');
    assert.equal(t.stride, Math.floor(62 / 4));
    await Promise.all([slm.close(), bmes.close(), t.close()]);
  });

  it('finds the graph in onnx/model.onnx too (the Transformers.js layout)', async () => {
    const p = folder('onnx-subfolder');
    await writeModelFolder(p, {
      tokenizer: wordPieceTokenizer(['Paris']),
      labels: BIO,
      tokenLabels: { Paris: 'B-LOC' },
    });
    mkdirSync(path.join(p, 'onnx'));
    renameSync(path.join(p, 'model.onnx'), path.join(p, 'onnx', 'model.onnx'));
    const slm = await loadSlm({ kind: 'onnx', path: p });
    assert.deepEqual((await slm.tagTokens(['Paris'])).tags, ['B-LOC']);
    await slm.close();
  });

  it('resolves a relative path against baseDir', async () => {
    const slm = await loadSlm({ kind: 'onnx', path: 'wordpiece' }, { baseDir: dir });
    assert.equal(slm.path, folder('wordpiece'));
    await slm.close();
  });
});

describe('tokenisation: WordPiece, byte-level BPE and Unigram tokenizer.json', () => {
  it('WordPiece splits words into ## pieces and punctuation; [CLS] and [SEP] frame a window', async () => {
    const t = await OnnxTagger.load(folder('wordpiece'));
    const tk = t.tokenizer;
    assert.equal(tk.model, 'WordPiece');
    assert.deepEqual(tk.tokens(tk.encodeWord('Peterson')), ['Peter', '##son']);
    assert.deepEqual(tk.tokens(tk.encodeWord('U.S.')), ['U', '.', 'S', '.']);
    assert.deepEqual(tk.tokens(tk.encodeWord('Zurich')), ['[UNK]']);
    assert.deepEqual(tk.tokens(tk.prefix), ['[CLS]']);
    assert.deepEqual(tk.tokens(tk.suffix), ['[SEP]']);
    assert.deepEqual(tk.tokens([tk.padId]), ['[PAD]']);
    await t.close();
  });

  it('byte-level BPE gives each word its leading space (Ġ) and splits CJK characters into byte tokens', async () => {
    const t = await OnnxTagger.load(folder('bpe-bmes'));
    const tk = t.tokenizer;
    assert.equal(tk.model, 'BPE');
    assert.deepEqual(tk.tokens(tk.encodeWord('Paris')), ['ĠParis']);
    assert.deepEqual(tk.tokens(tk.encodeWord('Peterson')), ['ĠPeter', 'son']);
    assert.deepEqual(tk.tokens(tk.encodeWord('我')), ['ĠæĪĳ']);
    assert.deepEqual(tk.tokens(tk.encodeWord('北')), ['Ġå', 'Į', 'Ĺ']);
    assert.deepEqual(tk.tokens(tk.prefix), ['<s>']);
    assert.deepEqual(tk.tokens(tk.suffix), ['</s>']);
    assert.deepEqual(tk.tokens([tk.padId]), ['<pad>']);
    await t.close();
  });

  it('Unigram (SentencePiece) marks word starts with ▁ and picks the likeliest segmentation', async () => {
    const t = await OnnxTagger.load(folder('unigram'));
    const tk = t.tokenizer;
    assert.equal(tk.model, 'Unigram');
    assert.deepEqual(tk.tokens(tk.encodeWord('Parisian')), ['▁Paris', 'ian']);
    assert.deepEqual(tk.tokens(tk.encodeWord('museum')), ['▁museum']);
    assert.deepEqual(tk.tokens(tk.prefix), ['[CLS]']);
    await t.close();
  });
});

describe('predictions mapped to words and characters', () => {
  let wp: Slm;
  before(async () => {
    wp = await loadSlm({ kind: 'onnx', path: folder('wordpiece') });
  });
  after(() => wp.close());

  it('a word takes its first subword: Peterson is B-PER whatever ##son says; marginals sum to 1', async () => {
    const words = ['Peterson', 'Black', '##burn', 'visited', 'Paris', 'on', 'Monday', '.'];
    const r = await wp.tagTokens(words);
    assert.equal(r.tags.length, words.length);
    assert.deepEqual(r.tags.slice(0, 1), ['B-PER']);
    assert.equal(r.tags[4], 'B-LOC');
    assert.deepEqual(r.tags.slice(5), ['O', 'O', 'O']);
    for (const m of r.marginals) {
      assert.equal(m.length, BIO.length);
      assert.ok(sumsToOne(m));
    }
    assert.ok(r.marginals[0][BIO.indexOf('B-PER')] > 0.5);
  });

  it('as the EL4NER voter: each predicted entity is its most likely type for that exact span', async () => {
    const text = 'Peterson visited Paris and met Acme in the U.S. on Monday.';
    const doc = await wp.predict({ id: 'd1', text });
    const voter = slmVoter(wp);
    const spans = [...doc.entities, { start: 0, end: 16 }, { start: 1, end: 8 }];
    const probs = await voter.spanProbabilities!({ id: 'd1', text }, spans);
    doc.entities.forEach((e, i) => {
      const [best] = Object.entries(probs[i]).sort((a, b) => b[1] - a[1]);
      assert.equal(best[0], e.type, `${e.text}: ${JSON.stringify(probs[i])}`);
      assert.ok(best[1] > 0 && best[1] <= 1);
    });
    // "Peterson visited" is two words no scheme tags as one entity here; "eterson" is no token span.
    assert.ok(Object.values(probs.at(-2)!).every((p) => p < 0.5));
    assert.deepEqual(probs.at(-1), {});
  });

  it('predict: entities with character offsets, from the project tokenizer, scored by the marginals', async () => {
    const text = 'Peterson visited Paris and met Acme in the U.S. on Monday.';
    const doc = await wp.predict({ id: 'd1', text });
    const got = doc.entities.map((e) => [e.text, e.type, text.slice(e.start, e.end)]);
    assert.deepEqual(got, [
      ['Peterson', 'PER', 'Peterson'],
      ['Paris', 'LOC', 'Paris'],
      ['Acme', 'ORG', 'Acme'],
      ['U.S.', 'LOC', 'U.S.'],
    ]);
    for (const e of doc.entities) {
      assert.ok(e.score! > 0.3 && e.score! < 1, `score ${e.score}`);
      assert.deepEqual(e.sources, [{ model: 'onnx', stage: 'slm', type: e.type, score: e.score }]);
    }
    // Given tokens are used as they are.
    const given = await wp.predict({
      id: 'd2',
      text: 'Peter Blackburn',
      tokens: [
        { text: 'Peter', start: 0, end: 5 },
        { text: 'Blackburn', start: 6, end: 15 },
      ],
    });
    assert.deepEqual(
      given.entities.map((e) => [e.text, e.type]),
      [['Peter Blackburn', 'PER']],
    );
  });

  it('CJK characters split into byte tokens follow the label table (B M E S over B/M/E tokens)', async () => {
    const slm = await loadSlm({ kind: 'onnx', path: folder('bpe-bmes') });
    // 北 [B M M] -> B, 亗 [M M M] -> M, 京 [M M E] -> E, 匬 [B M E] -> S; 我 在 are single O tokens.
    const r = await slm.tagTokens(['我', '在', '北', '亗', '京', '匬']);
    assert.deepEqual(r.tags, ['O', 'O', 'B-LOC', 'M-LOC', 'E-LOC', 'S-LOC']);
    for (const m of r.marginals) assert.ok(sumsToOne(m));
    const doc = await slm.predict({ id: 'zh', text: '我在北亗京匬' });
    assert.deepEqual(
      doc.entities.map((e) => [e.text, e.type, e.start, e.end]),
      [
        ['北亗京', 'LOC', 2, 5],
        ['匬', 'LOC', 5, 6],
      ],
    );
    // A non-CJK word split in two keeps the first-subword rule even in BMES.
    const en = await slm.tagTokens(['Paris', 'Peterson']);
    assert.deepEqual(en.tags, ['S-LOC', 'O']);
    await slm.close();
  });

  it('Unigram: Parisian is LOC from its first piece ▁Paris', async () => {
    const slm = await loadSlm({ kind: 'onnx', path: folder('unigram') });
    const r = await slm.tagTokens(['Peter', 'visited', 'the', 'Parisian', 'museum', '.']);
    assert.deepEqual(r.tags, ['B-PER', 'O', 'O', 'B-LOC', 'O', 'O']);
    await slm.close();
  });
});

describe('long inputs: windows with stride, no truncation, seams', () => {
  // 300 one-token words; w7 w8 (a PER) every 10 words, so entities sit across every seam.
  const words = Array.from({ length: 300 }, (_, i) =>
    i % 10 === 7 ? 'w7' : i % 10 === 8 ? 'w8' : `w${10 + ((i * 7) % 30)}`,
  );
  const expected = words.map((w) => (w === 'w7' ? 'B-PER' : w === 'w8' ? 'I-PER' : 'O'));

  it('a text longer than the model accepts is tagged whole: every word, the last entity too', async () => {
    // The graph's position table has 64 rows: one window of 302 tokens would fail in onnxruntime.
    const slm = await loadSlm({ kind: 'onnx', path: folder('wordpiece') });
    const r = await slm.tagTokens(words);
    assert.equal(r.tags.length, words.length);
    assert.deepEqual(r.tags, expected);
    const text = words.join(' ');
    const doc = await slm.predict({ id: 'long', text });
    assert.equal(doc.entities.length, 30);
    assert.equal(doc.entities.at(-1)!.text, 'w7 w8');
    assert.equal(doc.entities.at(-1)!.end, text.length - words.at(-1)!.length - 1);
    await slm.close();
  });

  it('each word takes the window where it has most context: equal to tagging that window alone', async () => {
    const size = 30; // maxLength 32 minus [CLS] and [SEP]
    const stride = 8;
    const t = await OnnxTagger.load(folder('wordpiece'), { maxLength: size + 2, stride });
    const whole = await t.tagTokens(words);
    // The windows as documented, derived here independently: starts 0, 22, 44, ..., the last right-aligned.
    const starts: number[] = [];
    for (let s = 0; s + size < words.length; s += size - stride) starts.push(s);
    starts.push(words.length - size);
    const alone = await Promise.all(starts.map((s) => t.tagTokens(words.slice(s, s + size))));
    let seamsWhereContextMatters = 0;
    for (let p = 0; p < words.length; p++) {
      const margin = (s: number) =>
        Math.min(
          s === 0 ? Number.POSITIVE_INFINITY : p - s,
          s + size === words.length ? Number.POSITIVE_INFINITY : s + size - 1 - p,
        );
      const inside = starts.map((s, k) => [s, k]).filter(([s]) => s <= p && p < s + size);
      const [s, k] = inside.reduce((best, cur) => (margin(cur[0]) > margin(best[0]) ? cur : best));
      assert.ok(
        maxAbsDiff(whole.marginals[p], alone[k].marginals[p - s]) < 1e-6,
        `word ${p} from window ${k}`,
      );
      if (inside.length > 1) {
        const [s2, k2] = inside.find(([, kk]) => kk !== k)!;
        if (maxAbsDiff(alone[k].marginals[p - s], alone[k2].marginals[p - s2]) > 1e-4)
          seamsWhereContextMatters++;
      }
    }
    // The attention layer makes a word's distribution depend on its window: the choice is not moot.
    assert.ok(
      seamsWhereContextMatters > 10,
      `${seamsWhereContextMatters} overlap words differ between windows`,
    );
    await t.close();
  });

  it('a word whose subwords straddle a seam keeps its first subword label', async () => {
    const t = await OnnxTagger.load(folder('wordpiece'), { maxLength: 12, stride: 2 });
    // Capacity 10: "Peterson" (2 pieces) at pieces 9-10 crosses the first window's end.
    const ws = [
      'w0',
      'w1',
      'w2',
      'w3',
      'w4',
      'w5',
      'w6',
      'w9',
      'w10',
      'Peterson',
      'visited',
      'Paris',
      ...Array(12).fill('w3'),
    ];
    const r = await t.tagTokens(ws);
    assert.equal(r.tags.length, ws.length);
    assert.equal(r.tags[9], 'B-PER');
    assert.equal(r.tags[11], 'B-LOC');
    assert.ok(t.stats.windows > 1);
    await t.close();
  });
});

describe('batching by length', () => {
  it('sentences tagged together give the same answers as one at a time, in fewer runs with little padding', async () => {
    const sentences = [
      ['Monday', '.'],
      ['w1', 'w2', 'w3', 'w7', 'w8', 'w9', 'w10', 'w11', 'w12', 'w13', 'w14', 'Paris'],
      ['the', 'U.S.'],
      ['Peterson', 'visited', 'Paris', '.'],
      ['Acme', 'met', 'Peter', 'Blackburn', 'in', 'Berlin', 'on', 'Monday', '.'],
      ['Paris', ',', 'Berlin', 'and', 'Paris'],
    ];
    const single = await OnnxTagger.load(folder('wordpiece'), { batchSize: 1 });
    const one: Awaited<ReturnType<OnnxTagger['tagTokens']>>[] = [];
    for (const s of sentences) one.push(await single.tagTokens(s));
    assert.equal(single.stats.batches, sentences.length);

    const batched = await OnnxTagger.load(folder('wordpiece'), { batchSize: 4 });
    const together = await Promise.all(sentences.map((s) => batched.tagTokens(s)));
    assert.equal(batched.stats.batches, 2, 'six sentences in batches of four');
    assert.ok(batched.stats.padding > 0, 'rows of unequal length were padded');
    // Sorted by length, the padding is less than a batch of the sentences in input order would have.
    const lengths = sentences.map((s) => s.reduce((n, w) => n + batched.tokenizer.encodeWord(w).length, 2));
    const inOrderPadding = [lengths.slice(0, 4), lengths.slice(4)]
      .map((b) => b.reduce((a, l) => a + Math.max(...b) - l, 0))
      .reduce((a, b) => a + b);
    assert.ok(batched.stats.padding < inOrderPadding, `${batched.stats.padding} < ${inOrderPadding}`);
    sentences.forEach((s, i) => {
      assert.deepEqual(together[i].tags, one[i].tags, s.join(' '));
      together[i].marginals.forEach((m, w) => {
        assert.ok(maxAbsDiff(m, one[i].marginals[w]) < 1e-5, `${s[w]}: the attention mask hides the padding`);
      });
    });
    await Promise.all([single.close(), batched.close()]);
  });
});

describe('clear errors for a folder that cannot be used', () => {
  const fails = async (spec: Parameters<typeof loadSlm>[0], pattern: RegExp) => {
    await assert.rejects(loadSlm(spec), (e: Error) => {
      assert.ok(e instanceof ConfigError, `${e.name}: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    });
  };
  const broken = async (name: string, change: Parameters<typeof writeModelFolder>[1]) => {
    await writeModelFolder(folder(name), change);
    return folder(name);
  };
  const base = { tokenizer: wordPieceTokenizer(['Paris']), labels: BIO, tokenLabels: { Paris: 'B-LOC' } };

  it('a missing folder, a file instead of a folder, a folder without model.onnx', async () => {
    await fails({ kind: 'onnx', path: folder('nope') }, /^fusion\.slm: .*nope: no such folder/);
    writeFileSync(folder('file.onnx'), 'x');
    await fails(
      { kind: 'onnx', path: folder('file.onnx') },
      /is a file: an ONNX token classifier is a folder/,
    );
    const p = await broken('no-model', base);
    rmSync(path.join(p, 'model.onnx'));
    await fails({ kind: 'onnx', path: p }, /model\.onnx: not found/);
  });

  it('a wrong label map: gaps, generic LABEL_n names, non-tags, label2id disagreeing, count unlike the model', async () => {
    const gap = await broken('gap', {
      ...base,
      config: { id2label: { 0: 'O', 1: 'B-LOC', 3: 'I-LOC' }, label2id: undefined },
    });
    await fails(
      { kind: 'onnx', path: gap },
      /config\.json: id2label\.3: label ids must be 0\.\.2 without gaps/,
    );
    const generic = await broken('generic', {
      ...base,
      config: { id2label: Object.fromEntries(BIO.map((_, i) => [i, `LABEL_${i}`])), label2id: undefined },
    });
    await fails({ kind: 'onnx', path: generic }, /id2label: holds the generic names LABEL_0/);
    const notTag = await broken('not-tag', {
      ...base,
      config: { id2label: { 0: 'O', 1: 'PERSON' }, label2id: undefined },
    });
    await fails({ kind: 'onnx', path: notTag }, /id2label\.1: "PERSON" is not a NER tag/);
    const mismatch = await broken('label2id', {
      ...base,
      config: { label2id: Object.fromEntries(BIO.map((l, i) => [l, (i + 1) % BIO.length])) },
    });
    await fails({ kind: 'onnx', path: mismatch }, /label2id\.O: is 1 but id2label gives "O" id 0/);
    const fewer = await broken('fewer', {
      ...base,
      config: { id2label: { 0: 'O', 1: 'B-LOC', 2: 'I-LOC' }, label2id: { O: 0, 'B-LOC': 1, 'I-LOC': 2 } },
    });
    await fails(
      { kind: 'onnx', path: fewer },
      /id2label: has 3 labels but model\.onnx gives 7 scores per token: wrong label map/,
    );
    const none = await broken('no-id2label', {
      ...base,
      config: { id2label: undefined, label2id: undefined },
    });
    await fails({ kind: 'onnx', path: none }, /config\.json: id2label: missing/);
  });

  it('a tokenizer the code cannot read: missing, not JSON, an unsupported model type', async () => {
    const p = await broken('tok', base);
    const file = path.join(p, 'tokenizer.json');
    const good = await readFile(file, 'utf8');
    rmSync(file);
    await fails({ kind: 'onnx', path: p }, /tokenizer\.json: not found/);
    writeFileSync(file, '{"model": ');
    await fails({ kind: 'onnx', path: p }, /tokenizer\.json: not valid JSON/);
    const json = JSON.parse(good);
    json.model.type = 'WordLevel';
    writeFileSync(file, JSON.stringify(json));
    await fails(
      { kind: 'onnx', path: p },
      /tokenizer\.json: model\.type: "WordLevel" is not a tokenizer model this tool reads/,
    );
    json.model.type = 'WordPiece';
    json.normalizer = { type: 'NoSuchNormalizer' };
    writeFileSync(file, JSON.stringify(json));
    await fails({ kind: 'onnx', path: p }, /tokenizer\.json: cannot read this tokenizer/);
  });

  it('options the model cannot take name the option key', async () => {
    await fails(
      { kind: 'onnx', path: folder('wordpiece'), maxLength: 513 },
      /^fusion\.slm\.maxLength: 513 is more than the 64 tokens/,
    );
    await fails(
      { kind: 'onnx', path: folder('wordpiece'), maxLength: 2 },
      /^fusion\.slm\.maxLength: 2 leaves no room/,
    );
    await fails(
      { kind: 'onnx', path: folder('wordpiece'), maxLength: 12, stride: 10 },
      /^fusion\.slm\.stride: 10 must be less than the 10/,
    );
    await fails(
      { kind: 'onnx', path: folder('wordpiece'), device: 'cuda' },
      /^fusion\.slm\.device: cuda: onnxruntime cannot start the CUDA provider/,
    );
  });

  it('a CRF path that is not a CRF model keeps the CRF error', async () => {
    await fails(folder('wordpiece'), /^fusion\.slm: cannot load the CRF model/);
  });
});

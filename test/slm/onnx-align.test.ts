import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  characterDistribution,
  isCjkCharacter,
  softmax,
  tokenTagsOfCharacter,
  wordDistributions,
  wordPieces,
} from '../../src/slm/onnx/align.js';
import { ownerWindows, planWindows } from '../../src/slm/onnx/windows.js';

describe('windows over long inputs', () => {
  it('a short input is one window', () => {
    assert.deepEqual(planWindows(10, 30, 8), [{ start: 0, end: 10 }]);
    assert.deepEqual(planWindows(30, 30, 8), [{ start: 0, end: 30 }]);
  });

  it('windows are full, overlap by at least the stride, and cover every token up to the last', () => {
    for (const [length, size, stride] of [
      [31, 30, 8],
      [100, 30, 8],
      [1000, 62, 15],
      [77, 10, 0],
      [50, 7, 6],
    ]) {
      const ws = planWindows(length, size, stride);
      assert.equal(ws[0].start, 0);
      assert.equal(ws.at(-1)!.end, length);
      for (const w of ws) assert.equal(w.end - w.start, size, `window ${JSON.stringify(w)} is full`);
      for (let k = 1; k < ws.length; k++) {
        const overlap = ws[k - 1].end - ws[k].start;
        assert.ok(overlap >= stride, `overlap ${overlap} >= stride ${stride}`);
        assert.ok(ws[k].start > ws[k - 1].start);
      }
      const owner = ownerWindows(length, ws);
      for (let p = 0; p < length; p++) {
        const w = ws[owner[p]];
        assert.ok(w.start <= p && p < w.end, `token ${p} is inside its window`);
      }
    }
  });

  it('a token in an overlap takes the window where it has more context on both sides', () => {
    // size 10, stride 4: windows [0,10) [6,16) [12,22) ... ; 6..9 are shared by the first two.
    const ws = planWindows(40, 10, 4);
    assert.deepEqual(ws.slice(0, 3), [
      { start: 0, end: 10 },
      { start: 6, end: 16 },
      { start: 12, end: 22 },
    ]);
    const owner = ownerWindows(40, ws);
    // 6 and 7 are 3 and 2 from the first window's right edge but 0 and 1 from the second's left.
    assert.deepEqual(Array.from(owner.slice(0, 12)), [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    // The last window is right-aligned: the text's own end costs no context.
    assert.equal(owner[39], ws.length - 1);
  });

  it('rejects a stride that would never advance', () => {
    assert.throws(() => planWindows(100, 10, 10), RangeError);
    assert.throws(() => planWindows(100, 0, 0), RangeError);
  });
});

describe('the label table for CJK characters split into several tokens', () => {
  it('B -> B M..., M -> M..., E -> M... E, S -> B M... E (BMES), with I for BIOES and no E for BIO', () => {
    assert.deepEqual(tokenTagsOfCharacter('B-LOC', 3, 'BMES'), ['B-LOC', 'M-LOC', 'M-LOC']);
    assert.deepEqual(tokenTagsOfCharacter('M-LOC', 3, 'BMES'), ['M-LOC', 'M-LOC', 'M-LOC']);
    assert.deepEqual(tokenTagsOfCharacter('E-LOC', 3, 'BMES'), ['M-LOC', 'M-LOC', 'E-LOC']);
    assert.deepEqual(tokenTagsOfCharacter('S-LOC', 3, 'BMES'), ['B-LOC', 'M-LOC', 'E-LOC']);
    assert.deepEqual(tokenTagsOfCharacter('S-LOC', 2, 'BMES'), ['B-LOC', 'E-LOC']);
    assert.deepEqual(tokenTagsOfCharacter('S-PER', 3, 'BIOES'), ['B-PER', 'I-PER', 'E-PER']);
    assert.deepEqual(tokenTagsOfCharacter('B-PER', 2, 'BIO'), ['B-PER', 'I-PER']);
    assert.deepEqual(tokenTagsOfCharacter('O', 3, 'BMES'), ['O', 'O', 'O']);
    assert.deepEqual(tokenTagsOfCharacter('E-LOC', 1, 'BMES'), ['E-LOC']);
  });

  const bmes = ['O', 'B-LOC', 'M-LOC', 'E-LOC', 'S-LOC', 'B-PER', 'M-PER', 'E-PER', 'S-PER'];
  const oneHot = (labels: string[], tag: string) => {
    const d = new Float64Array(labels.length);
    d[labels.indexOf(tag)] = 1;
    return d;
  };

  it('read backwards: token tags that follow the table give the character its tag with certainty', () => {
    for (const scheme of ['BMES', 'BIOES'] as const) {
      const labels = scheme === 'BMES' ? bmes : bmes.map((l) => l.replace(/^M-/, 'I-'));
      for (const tag of labels)
        for (const n of [2, 3, 4]) {
          const tokens = tokenTagsOfCharacter(tag, n, scheme);
          const d = characterDistribution(
            oneHot(labels, tokens[0]),
            oneHot(labels, tokens[n - 1]),
            labels,
            scheme,
          );
          assert.equal(d[labels.indexOf(tag)], 1, `${scheme} ${tag} over ${n} tokens: ${tokens.join(' ')}`);
        }
    }
  });

  it('soft token distributions give a distribution that sums to 1 and leans the same way', () => {
    const soft = (tag: string, p: number) => {
      const d = new Float64Array(bmes.length).fill((1 - p) / (bmes.length - 1));
      d[bmes.indexOf(tag)] = p;
      return d;
    };
    // First token says B-LOC, last says E-LOC: the character is S-LOC.
    const d = characterDistribution(soft('B-LOC', 0.7), soft('E-LOC', 0.6), bmes, 'BMES');
    const sum = d.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12);
    const best = bmes[d.indexOf(Math.max(...d))];
    assert.equal(best, 'S-LOC');
    // In BIO the first token decides.
    const bio = ['O', 'B-LOC', 'I-LOC'];
    const first = Float64Array.from([0.1, 0.8, 0.1]);
    assert.equal(characterDistribution(first, Float64Array.from([0.1, 0.1, 0.8]), bio, 'BIO'), first);
  });
});

describe('subwords to words', () => {
  const labels = ['O', 'B-PER', 'I-PER', 'B-LOC', 'M-LOC', 'E-LOC', 'S-LOC'];
  const dist = (tag: string) => {
    const d = new Float64Array(labels.length).fill(0.01);
    d[labels.indexOf(tag)] = 1 - 0.01 * (labels.length - 1);
    return d;
  };

  it('a word takes its first subword, a CJK character of several tokens the table, an erased word O', () => {
    const pieces: Record<string, number[]> = {
      Peterson: [10, 11],
      visited: [12],
      北: [20, 21, 22],
      '\u200b': [],
    };
    const words = ['Peterson', 'visited', '北', '\u200b'];
    const wp = wordPieces(words, (w) => pieces[w]);
    assert.deepEqual(wp.ids, [10, 11, 12, 20, 21, 22]);
    assert.deepEqual(Array.from(wp.first), [0, 2, 3, 6]);
    assert.deepEqual(Array.from(wp.count), [2, 1, 3, 0]);
    // Position tags: Peter=B-PER, ##son=I-PER (ignored), visited=O, then 北 as B M E.
    const byPosition = ['B-PER', 'I-PER', 'O', 'B-LOC', 'M-LOC', 'E-LOC'];
    const d = wordDistributions(words, wp, (p) => dist(byPosition[p]), labels, 'BMES');
    const tags = d.map((m) => labels[m.indexOf(Math.max(...m))]);
    assert.deepEqual(tags, ['B-PER', 'O', 'S-LOC', 'O']);
    for (const m of d) assert.ok(Math.abs(m.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.equal(d[3][0], 1, 'a word with no subword is O with certainty');
  });

  it('CJK characters are Han, Kana and Hangul, one character at a time', () => {
    assert.ok(isCjkCharacter('北'));
    assert.ok(isCjkCharacter('カ'));
    assert.ok(isCjkCharacter('한'));
    assert.ok(!isCjkCharacter('北京'));
    assert.ok(!isCjkCharacter('Paris'));
    assert.ok(!isCjkCharacter('，'));
  });

  it('softmax is stable for large logits and sums to 1', () => {
    const p = softmax(Float32Array.from([1000, 1001, 999, 0]), 0, 4);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.ok(p[1] > p[0] && p[0] > p[2] && p[3] < 1e-300);
  });
});

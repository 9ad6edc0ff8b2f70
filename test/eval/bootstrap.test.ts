import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NerDocument } from '../../src/core/types.js';
import { bootstrapWinShare } from '../../src/eval/bootstrap.js';
import { bootstrapMicroF1, evaluate, mulberry32, pairedBootstrap, quantile } from '../../src/eval/index.js';
import { doc, ent } from './helpers.js';

/** 40 documents: some right, some missed, some with a wrong type, some spurious. */
function corpus(): { gold: NerDocument[]; pred: NerDocument[] } {
  const gold: NerDocument[] = [];
  const pred: NerDocument[] = [];
  const t = 'Alice visited Paris with Bob';
  for (let i = 0; i < 40; i++) {
    const g = [ent(t, 'Alice', 'PER'), ent(t, 'Paris', 'LOC')];
    const p = [ent(t, 'Alice', 'PER')];
    if (i % 3 === 0) p.push(ent(t, 'Paris', 'LOC'));
    if (i % 5 === 0) p.push(ent(t, 'Bob', 'ORG'));
    if (i % 7 === 0) p[0] = ent(t, 'Alice', 'ORG');
    gold.push(doc(`d${i}`, t, g));
    pred.push(doc(`d${i}`, t, p));
  }
  return { gold, pred };
}

describe('bootstrap CI of micro F1', () => {
  it('is reproducible with a seed and changes with the seed', () => {
    const { gold, pred } = corpus();
    const a = evaluate(gold, pred, { bootstrap: 500, seed: 7 });
    const b = evaluate(gold, pred, { bootstrap: 500, seed: 7 });
    const c = evaluate(gold, pred, { bootstrap: 500, seed: 8 });
    assert.deepEqual(a.bootstrap, b.bootstrap);
    assert.notDeepEqual(
      [a.bootstrap?.f1_low, a.bootstrap?.f1_high],
      [c.bootstrap?.f1_low, c.bootstrap?.f1_high],
    );
    assert.equal(a.bootstrap?.n, 500);
    assert.equal(a.bootstrap?.seed, 7);
  });

  it('contains the point estimate and has positive width on a mixed corpus', () => {
    const { gold, pred } = corpus();
    const r = evaluate(gold, pred, {});
    const b = r.bootstrap!;
    assert.equal(b.n, 1000);
    assert.ok(
      b.f1_low <= r.micro.f1 && r.micro.f1 <= b.f1_high,
      `${b.f1_low} <= ${r.micro.f1} <= ${b.f1_high}`,
    );
    assert.ok(b.f1_high - b.f1_low > 0.01);
    assert.ok(b.f1_high - b.f1_low < 0.5);
  });

  it('is off with 0 resamples and rejects bad counts', () => {
    assert.equal(bootstrapMicroF1([{ tp: 1, fp: 0, fn: 0 }], { resamples: 0 }), null);
    assert.throws(() => bootstrapMicroF1([{ tp: 1, fp: 0, fn: 0 }], { resamples: -1 }), RangeError);
  });

  it('gives a single point when every document is the same', () => {
    const b = bootstrapMicroF1(
      Array.from({ length: 5 }, () => ({ tp: 1, fp: 1, fn: 0 })),
      { resamples: 100 },
    );
    assert.ok(b);
    assert.ok(Math.abs(b.f1_low - 2 / 3) < 1e-12 && Math.abs(b.f1_high - 2 / 3) < 1e-12);
  });
});

describe('helpers', () => {
  it('quantile interpolates linearly (numpy default)', () => {
    assert.equal(quantile([0, 1, 2, 3], 0.5), 1.5);
    assert.equal(quantile([0, 1, 2, 3], 0), 0);
    assert.equal(quantile([0, 1, 2, 3], 1), 3);
    assert.equal(quantile([0, 10], 0.025), 0.25);
  });

  it('mulberry32 is deterministic and in [0, 1)', () => {
    const a = mulberry32(123);
    const b = mulberry32(123);
    const xs = Array.from({ length: 1000 }, () => a());
    assert.deepEqual(
      xs,
      Array.from({ length: 1000 }, () => b()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.ok(new Set(xs).size > 990);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05);
  });
});

describe('paired bootstrap of two systems', () => {
  const a = [
    { tp: 3, fp: 0, fn: 1 },
    { tp: 1, fp: 1, fn: 0 },
    { tp: 0, fp: 0, fn: 2 },
    { tp: 2, fp: 0, fn: 0 },
  ];
  const b = [
    { tp: 2, fp: 1, fn: 2 },
    { tp: 1, fp: 0, fn: 0 },
    { tp: 0, fp: 1, fn: 2 },
    { tp: 1, fp: 0, fn: 1 },
  ];

  it('brackets the observed difference, is reproducible with its seed and is the win share tune reads', () => {
    const r = pairedBootstrap(a, b, { resamples: 500, seed: 3 })!;
    assert.deepEqual(pairedBootstrap(a, b, { resamples: 500, seed: 3 }), r);
    const f1 = (c: { tp: number; fp: number; fn: number }[]) => {
      const t = c.reduce((s, x) => ({ tp: s.tp + x.tp, fp: s.fp + x.fp, fn: s.fn + x.fn }));
      return (2 * t.tp) / (2 * t.tp + t.fp + t.fn);
    };
    const delta = f1(a) - f1(b);
    assert.ok(r.delta_low <= delta && delta <= r.delta_high, `${r.delta_low} <= ${delta} <= ${r.delta_high}`);
    assert.ok(r.win_share > 0.5 && r.win_share < 1, String(r.win_share));
    assert.equal(bootstrapWinShare(a, b, { resamples: 500, seed: 3 }), r.win_share);
    const same = pairedBootstrap(a, a, { resamples: 100 })!;
    assert.deepEqual([same.win_share, same.delta_low, same.delta_high], [0, 0, 0]);
  });

  it('refuses two sides of different lengths and gives nothing to resample as null', () => {
    assert.throws(() => pairedBootstrap(a, b.slice(1)), RangeError);
    assert.equal(pairedBootstrap([], []), null);
    assert.equal(pairedBootstrap(a, b, { resamples: 0 }), null);
  });
});

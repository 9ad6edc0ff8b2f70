import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWeightPresetName, posWeight, resolveWeights, WEIGHT_PRESETS } from '../../src/pos/weights.js';

describe('POS weight schemes', () => {
  it('the default gives proper nouns the most weight', () => {
    const w = resolveWeights(undefined);
    assert.deepEqual(w, { PROPN: 4, NOUN: 2, PRON: 1, other: 1 });
    assert.ok(posWeight('PROPN', w) > posWeight('NOUN', w));
    assert.ok(posWeight('NOUN', w) > posWeight('PRON', w));
  });

  it("'paper-rank' is the literal {PROPN:1, NOUN:2, PRON:4}", () => {
    const w = resolveWeights('paper-rank');
    assert.equal(posWeight('PROPN', w), 1);
    assert.equal(posWeight('NOUN', w), 2);
    assert.equal(posWeight('PRON', w), 4);
    assert.equal(posWeight('ADJ', w), 1);
    assert.equal(posWeight(undefined, w), 1);
  });

  it('accepts custom weights and rejects bad ones', () => {
    assert.deepEqual(resolveWeights({ PROPN: 3, NOUN: 0, PRON: 0.5, other: 0 }), {
      PROPN: 3,
      NOUN: 0,
      PRON: 0.5,
      other: 0,
    });
    assert.throws(() => resolveWeights({ PROPN: -1, NOUN: 1, PRON: 1, other: 1 }), /PROPN/);
    assert.throws(() => resolveWeights({ PROPN: Number.NaN, NOUN: 1, PRON: 1, other: 1 }), /PROPN/);
    assert.throws(() => resolveWeights('bogus' as 'default'), /unknown weight scheme/);
  });

  it('presets are copied, never shared', () => {
    const w = resolveWeights('default');
    w.PROPN = 99;
    assert.equal(WEIGHT_PRESETS.default.PROPN, 4);
    assert.ok(isWeightPresetName('uniform'));
    assert.ok(!isWeightPresetName('toString'));
  });
});

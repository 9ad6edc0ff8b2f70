/**
 * The six scenarios of the SemEval-2013 / MUC categories as tabulated in David Batista's
 * "Named-Entity evaluation metrics based on entity-level" (2018) and the nervaluate README:
 * gold and predicted entity per scenario, and the category under each schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entity } from '../../src/core/types.js';
import { evaluate, mucDocument, mucSchemas, type SchemaName } from '../../src/eval/index.js';
import { doc, ent } from './helpers.js';

type Label = 'COR' | 'INC' | 'PAR' | 'MIS' | 'SPU';
const TEXT = 'take phenytoin , healthy TIKOSYN with propranolol of warfarin and oral contraceptives';

const SCENARIOS: { name: string; gold: Entity[]; pred: Entity[]; expected: Record<SchemaName, Label> }[] = [
  {
    name: 'I',
    gold: [ent(TEXT, 'phenytoin', 'drug')],
    pred: [ent(TEXT, 'phenytoin', 'drug')],
    expected: { type: 'COR', partial: 'COR', exact: 'COR', strict: 'COR' },
  },
  {
    name: 'II',
    gold: [],
    pred: [ent(TEXT, 'healthy', 'brand')],
    expected: { type: 'SPU', partial: 'SPU', exact: 'SPU', strict: 'SPU' },
  },
  {
    name: 'III',
    gold: [ent(TEXT, 'TIKOSYN', 'brand')],
    pred: [],
    expected: { type: 'MIS', partial: 'MIS', exact: 'MIS', strict: 'MIS' },
  },
  {
    name: 'IV',
    gold: [ent(TEXT, 'propranolol', 'drug')],
    pred: [ent(TEXT, 'propranolol', 'brand')],
    expected: { type: 'INC', partial: 'COR', exact: 'COR', strict: 'INC' },
  },
  {
    name: 'V',
    gold: [ent(TEXT, 'warfarin', 'drug')],
    pred: [ent(TEXT, 'of warfarin', 'drug')],
    expected: { type: 'COR', partial: 'PAR', exact: 'INC', strict: 'INC' },
  },
  {
    name: 'VI',
    gold: [ent(TEXT, 'contraceptives', 'group')],
    pred: [ent(TEXT, 'oral contraceptives', 'drug')],
    expected: { type: 'INC', partial: 'PAR', exact: 'INC', strict: 'INC' },
  },
];

function labelOf(s: {
  correct: number;
  incorrect: number;
  partial: number;
  missed: number;
  spurious: number;
}): Label {
  const hits: [Label, number][] = [
    ['COR', s.correct],
    ['INC', s.incorrect],
    ['PAR', s.partial],
    ['MIS', s.missed],
    ['SPU', s.spurious],
  ];
  const nonZero = hits.filter(([, n]) => n > 0);
  assert.equal(nonZero.length, 1, JSON.stringify(s));
  assert.equal(nonZero[0][1], 1);
  return nonZero[0][0];
}

describe('SemEval-2013 scenario table (Batista 2018, nervaluate)', () => {
  for (const sc of SCENARIOS) {
    it(`scenario ${sc.name}`, () => {
      const schemas = mucSchemas(mucDocument(sc.gold, sc.pred));
      for (const name of ['type', 'partial', 'exact', 'strict'] as const) {
        assert.equal(labelOf(schemas[name]), sc.expected[name], `${sc.name} ${name}`);
      }
    });
  }

  it('totals over the six scenarios: strict 0.2, exact 0.4, partial 0.6, type 0.4', () => {
    const gold = SCENARIOS.map((s, i) => doc(String(i), TEXT, s.gold));
    const pred = SCENARIOS.map((s, i) => doc(String(i), TEXT, s.pred));
    const { schemas } = evaluate(gold, pred, { bootstrap: 0 }).muc;
    const round = (x: number) => Math.round(x * 1e9) / 1e9;
    for (const [name, value] of [
      ['strict', 0.2],
      ['exact', 0.4],
      ['partial', 0.6],
      ['type', 0.4],
    ] as const) {
      assert.equal(schemas[name].possible, 5, name);
      assert.equal(schemas[name].actual, 5, name);
      assert.deepEqual(
        [round(schemas[name].p), round(schemas[name].r), round(schemas[name].f1)],
        [value, value, value],
        name,
      );
    }
  });
});

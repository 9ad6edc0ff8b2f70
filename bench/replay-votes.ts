/**
 * The plain vote of replayed taggers, as `el4ner ensemble --strategy vote` combines them
 * (combineSystems, overlaps decided as `--overlaps auto` does), and each tagger alone.
 */
import type { NerDocument } from '../src/core/types.js';
import { combineSystems } from '../src/el4ner/voting/combine.js';
import { policyOfData } from '../src/el4ner/voting/overlaps.js';
import { strictMicro } from '../src/slm/data.js';
import { predictionEntities, type ReplaySystem } from '../test/support/replay-systems.js';

export interface Score {
  p: number;
  r: number;
  f1: number;
}

export const score = (gold: readonly NerDocument[], pred: readonly NerDocument[]): Score => {
  const s = strictMicro(gold, pred);
  return { p: s.p, r: s.r, f1: s.f1 };
};

/** The documents each system predicted, and their plain vote at `minVotes` (default a strict majority). */
export function votePredictions(
  systems: readonly ReplaySystem[],
  split: 'dev' | 'test',
  gold: readonly NerDocument[],
) {
  const per = systems.map((s) => s.predictions[split].map((p) => predictionEntities(p)));
  // as `el4ner ensemble --overlaps auto` decides: flat unless a system's own output nests
  const overlaps = policyOfData(per.flat().map((entities) => ({ entities })));
  return {
    overlaps,
    backbone: (j: number): NerDocument[] => gold.map((d, i) => ({ ...d, entities: per[j][i] })),
    vote: (minVotes?: number, keepOverlaps = false): NerDocument[] =>
      gold.map((d, i) => ({
        ...d,
        entities: combineSystems(
          d.text,
          systems.map((s, j) => ({ name: s.name, entities: per[j][i] })),
          {
            strategy: 'vote',
            overlaps: keepOverlaps ? 'nested' : overlaps,
            ...(minVotes !== undefined ? { minVotes } : {}),
          },
        ),
      })),
  };
}

/** Each backbone's score, the strict majority's and every vote threshold's. */
export function plainVotes(
  systems: readonly ReplaySystem[],
  split: 'dev' | 'test',
  gold: readonly NerDocument[],
) {
  const v = votePredictions(systems, split, gold);
  return {
    backbones: systems.map((s, j) => ({ name: s.name, ...score(gold, v.backbone(j)) })),
    overlaps: v.overlaps,
    majority: score(gold, v.vote()),
    byThreshold: systems.map((_, k) => ({
      minVotes: k + 1,
      ...score(gold, v.vote(k + 1)),
      overlapsKept: score(gold, v.vote(k + 1, true)),
    })),
  };
}

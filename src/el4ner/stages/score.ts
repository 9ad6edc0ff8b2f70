/**
 * The final score of every decided entity, then the run-time cut (config `decision.minScore`,
 * `el4ner run --threshold`). No model calls.
 * - With a calibration (config `decision.calibration`, fitted on dev by `el4ner tune`): the
 *   probability that the entity is correct, from its vote and verifier features
 *   (voting/calibration.ts), so a threshold means the same on every run.
 * - Without: the voting rule's score; with verification used as a feature, the verifier counts as
 *   one more voter in it (a yes adds a full vote, a no a vote against).
 */
import type { Stage } from '../stage.js';
import type { Candidate } from '../state.js';
import { calibratedScore, candidateFeatures } from '../voting/calibration.js';

const overlapping = (a: Candidate, b: Candidate) =>
  a !== b && a.entity.start < b.entity.end && b.entity.start < a.entity.end;

export const scoreStage: Stage = {
  name: 'score',
  calls: () => 0,
  async run(state, parts) {
    const { calibration, minScore } = parts.scoring;
    const feature = parts.verification.use === 'feature';
    for (const c of state.candidates) {
      c.features = candidateFeatures({
        type: c.entity.type,
        votes: c.votes,
        voters: state.voters,
        verdict: c.verdict,
        overlaps: state.candidates.some((o) => overlapping(c, o)),
      });
      let score = c.entity.score ?? 0;
      if (calibration) score = calibratedScore(calibration, c.features);
      else if (feature && c.verdict !== undefined) {
        const n = new Set(c.votes.map((v) => v.voter)).size;
        score = (n * score + (c.verdict ? 1 : 0)) / (n + 1);
      }
      c.entity = { ...c.entity, score: Math.round(score * 1e6) / 1e6 };
    }
    state.final = state.candidates.filter((c) => (c.entity.score ?? 0) >= minScore).map((c) => c.entity);
  },
};

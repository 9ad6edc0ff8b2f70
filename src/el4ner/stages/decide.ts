/**
 * The decision after classification (or joint extraction): the configured voting rule turns the
 * votes on each union span into an entity or nothing. No model calls. Each entity's sources say
 * who proposed the span and how every voter voted, in voter order.
 */
import { compareEntities, type SourceVote } from '../../core/types.js';
import type { Stage } from '../stage.js';
import { type Candidate, spanKey } from '../state.js';

export const decideStage: Stage = {
  name: 'decide',
  calls: () => 0,
  async run(state, parts) {
    const slmName = parts.slm?.name;
    const voteStage = parts.switches.decomposition ? 'classify' : 'joint';
    const rank = (v: string) => {
      const i = state.voters.indexOf(v);
      return i < 0 ? state.voters.length : i;
    };
    const candidates: Candidate[] = [];
    for (const s of state.union) {
      const votes = state.votes.get(spanKey(s)) ?? [];
      const d = parts.rule.decide({ votes, voters: state.voters, weight: parts.weight });
      if (d.type === undefined) continue;
      const sources: SourceVote[] = [
        ...(parts.switches.decomposition
          ? s.proposers.map((m) => ({ model: m, stage: m === slmName ? 'slm' : 'extract' }))
          : []),
        ...[...votes]
          .sort((a, b) => rank(a.voter) - rank(b.voter))
          .map((v) => ({ model: v.voter, stage: v.voter === slmName ? 'slm' : voteStage, type: v.type })),
      ];
      candidates.push({
        entity: { start: s.start, end: s.end, type: d.type, text: s.text, score: d.score, sources },
        votes,
        margin: d.margin,
      });
    }
    state.candidates = candidates.sort((a, b) => compareEntities(a.entity, b.entity));
    state.voted = state.candidates.map((c) => c.entity);
    state.final = state.voted;
  },
};

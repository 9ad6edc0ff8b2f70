/**
 * How the flat overlap rule's tie-break changes strict F1, on the plain vote of the replayed
 * taggers (test/support/replay-systems.ts, trained once into .el4ner/replay/): the vote of
 * `el4ner ensemble --strategy vote` at "at least m of 4", its overlapping spans kept or resolved
 * by src/el4ner/voting/overlaps.ts with the score (the vote share) and each tie-break.
 *
 *   node --import tsx bench/overlap-ties.ts [set...]     (default conll2003 wnut17)
 */
import { join } from 'node:path';
import type { Entity, NerDocument } from '../src/core/types.js';
import { combineSystems } from '../src/el4ner/voting/combine.js';
import { resolveOverlaps } from '../src/el4ner/voting/overlaps.js';
import { readJsonlDocuments, strictMicro } from '../src/slm/data.js';
import { ensureSystems, predictionEntities, sharedData } from '../test/support/replay-systems.js';

const sets = process.argv.slice(2).length ? process.argv.slice(2) : ['conll2003', 'wnut17'];
console.log('| set | split | vote | overlaps kept | longer | shorter | first-listed voter (default) |');
console.log('| --- | --- | --- | ---: | ---: | ---: | ---: |');
for (const set of sets) {
  const systems = await ensureSystems(set, undefined, { log: (m) => process.stderr.write(`${m}\n`) });
  const names = systems.map((s) => s.name);
  for (const split of ['dev', 'test'] as const) {
    const gold = await readJsonlDocuments(join(sharedData, set, `${split}.jsonl`));
    const per = systems.map((s) => s.predictions[split].map((p) => predictionEntities(p)));
    for (let minVotes = 1; minVotes <= systems.length; minVotes++) {
      const out: Record<string, NerDocument[]> = { kept: [], longer: [], shorter: [], first: [] };
      gold.forEach((d, i) => {
        const sys = systems.map((s, j) => ({ name: s.name, entities: per[j][i] }));
        const voted = combineSystems(d.text, sys, { strategy: 'vote', minVotes });
        // the sources as the pipeline gives them: each system's vote for the span's type
        const withSources = voted.map((e) => ({
          ...e,
          sources: sys
            .filter((s) =>
              s.entities.some((x) => x.start === e.start && x.end === e.end && x.type === e.type),
            )
            .map((s) => ({ model: s.name, stage: 'classify', type: e.type })),
        }));
        const shorterFirst = (e: Entity) => ({ ...e, score: (e.score ?? 0) - (e.end - e.start) * 1e-9 });
        out.kept.push({ ...d, entities: voted });
        out.longer.push({ ...d, entities: resolveOverlaps(voted, 'flat') });
        out.shorter.push({ ...d, entities: resolveOverlaps(voted.map(shorterFirst), 'flat') });
        out.first.push({ ...d, entities: resolveOverlaps(withSources, 'flat', names) });
      });
      const f = (docs: NerDocument[]) => (100 * strictMicro(gold, docs).f1).toFixed(2);
      console.log(
        `| ${set} | ${split} | at least ${minVotes} of ${systems.length} | ${f(out.kept)} | ${f(out.longer)} | ${f(out.shorter)} | ${f(out.first)} |`,
      );
    }
  }
}

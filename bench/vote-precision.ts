/**
 * Why no fixed vote threshold suits every data set: the precision of the spans exactly m of the n
 * replayed CRF taggers propose (test/support/replay-systems.ts), beside the F1 level of the
 * plain votes on the same split. A span of precision q raises strict F1 when it is kept iff
 * q > F1 / 2 (docs/decisions.md), so a minority span pays on a set the taggers find hard and
 * costs on one they find easy, at the same precision. The last column is what an estimate of the
 * taggers' reliability from their agreement alone keeps (Dawid-Skene, one coin per tagger, fitted
 * by EM over the union's spans, posterior > 0.5): no labels, the whole split at once.
 *
 *   node --import tsx bench/vote-precision.ts [set...] [--md out.md]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NerDocument } from '../src/core/types.js';
import { combineSystems } from '../src/el4ner/voting/combine.js';
import { readJsonlDocuments, strictMicro } from '../src/slm/data.js';
import { ensureSystems, predictionEntities, sharedData } from '../test/support/replay-systems.js';
import { setsAndMarkdown } from './set-args.js';

const { sets, mdOut } = setsAndMarkdown(process.argv.slice(2));

const pct = (x: number) => (100 * x).toFixed(1);

/** P(entity | who proposed it) per span, from a two-class latent model fitted by EM on `proposed`. */
function agreementPosteriors(proposed: readonly boolean[][]): number[] {
  const n = proposed[0]?.length ?? 0;
  let post = proposed.map((v) => v.filter(Boolean).length / n);
  for (let it = 0; it < 100; it++) {
    const mass = post.reduce((a, b) => a + b, 0);
    const prior = mass / post.length;
    const clamp = (x: number) => Math.min(0.999, Math.max(0.001, x));
    const hit = Array.from({ length: n }, (_, j) =>
      clamp(proposed.reduce((a, v, i) => a + (v[j] ? post[i] : 0), 0) / mass),
    );
    const falseHit = Array.from({ length: n }, (_, j) =>
      clamp(proposed.reduce((a, v, i) => a + (v[j] ? 1 - post[i] : 0), 0) / (post.length - mass)),
    );
    post = proposed.map((v) => {
      let odds = Math.log(prior / (1 - prior));
      v.forEach((p, j) => {
        odds += p ? Math.log(hit[j] / falseHit[j]) : Math.log((1 - hit[j]) / (1 - falseHit[j]));
      });
      return 1 / (1 + Math.exp(-odds));
    });
  }
  return post;
}
const lines: string[] = [
  '| set, split | plain vote F1: strict majority / union (overlaps kept) | F1 / 2 at the majority | spans proposed by exactly 1, 2, 3, 4 taggers: count @ precision | agreement estimate F1 |',
  '| --- | ---: | ---: | --- | ---: |',
];
for (const set of sets.length ? sets : ['conll2003', 'wnut17']) {
  const systems = await ensureSystems(set);
  const n = systems.length;
  for (const split of ['dev', 'test'] as const) {
    const gold = await readJsonlDocuments(join(sharedData, set, `${split}.jsonl`));
    const per = systems.map((s) => s.predictions[split].map((p) => predictionEntities(p)));
    // every span any tagger proposes, its type the plurality of its proposers, its score m / n
    const spans = gold.map((d, i) =>
      combineSystems(
        d.text,
        systems.map((s, j) => ({ name: s.name, entities: per[j][i] })),
        { strategy: 'span-vote-then-type', minVotes: 0 },
      ),
    );
    const byVotes = Array.from({ length: n }, () => ({ count: 0, correct: 0 }));
    spans.forEach((list, i) => {
      const truth = new Set(gold[i].entities.map((e) => `${e.start}:${e.end}:${e.type}`));
      for (const e of list) {
        const m = Math.round(e.score! * n);
        byVotes[m - 1].count++;
        if (truth.has(`${e.start}:${e.end}:${e.type}`)) byVotes[m - 1].correct++;
      }
    });
    const vote = (opts: Parameters<typeof combineSystems>[2]) =>
      strictMicro(
        gold,
        gold.map(
          (d, i): NerDocument => ({
            ...d,
            entities: combineSystems(
              d.text,
              systems.map((s, j) => ({ name: s.name, entities: per[j][i] })),
              opts,
            ),
          }),
        ),
      ).f1;
    const majority = vote({ strategy: 'vote' });
    const union = vote({ strategy: 'vote', minVotes: 1 });
    const flat = spans.flatMap((list, i) => list.map((e) => ({ doc: i, e })));
    const proposed = flat.map(({ doc, e }) =>
      per.map((sys) => sys[doc].some((x) => x.start === e.start && x.end === e.end)),
    );
    const post = agreementPosteriors(proposed);
    const kept = gold.map((d): NerDocument => ({ ...d, entities: [] }));
    flat.forEach(({ doc, e }, k) => {
      if (post[k] > 0.5) kept[doc].entities.push(e);
    });
    const estimated = strictMicro(gold, kept).f1;
    const cells = byVotes.map((b) => `${b.count} @ ${pct(b.correct / b.count)}`).join(', ');
    lines.push(
      `| ${set} ${split} | ${pct(majority)} / ${pct(union)} | ${pct(majority / 2)} | ${cells} | ${pct(estimated)} |`,
    );
    process.stderr.write(`${set} ${split} done\n`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
if (mdOut) writeFileSync(mdOut, `${lines.join('\n')}\n`);

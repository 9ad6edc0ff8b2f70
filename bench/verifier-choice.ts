/**
 * Which backbone should verify (one of EL4NER's open questions): the default decision with each
 * replayed CRF tagger (test/support/replay-systems.ts) as the verifier, on dev and test, beside
 * two things a user could choose it by: the tagger's own F1 (needs labels) and its mean strict
 * F1 against each other tagger (agreement, needs none). The choice is read on dev; test shows
 * whether it carries.
 *
 *   node --import tsx bench/verifier-choice.ts [set...] [--md out.md]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMethod } from '../src/assemble/index.js';
import type { NerDocument } from '../src/core/types.js';
import { readJsonlDocuments, strictMicro } from '../src/slm/data.js';
import { replayModels, startEl4nerReplayServer } from '../test/support/el4ner-replay-server.js';
import { ensureSystems, predictionEntities, repoRoot, sharedData } from '../test/support/replay-systems.js';
import { setsAndMarkdown } from './set-args.js';

const PORT = 47390;
const SPLITS = ['dev', 'test'] as const;

const { sets, mdOut } = setsAndMarkdown(process.argv.slice(2));
const pct = (x: number) => (100 * x).toFixed(2);
const withEntities = (docs: readonly NerDocument[], entities: NerDocument['entities'][]) =>
  docs.map((d, i) => ({ ...d, entities: entities[i] }));

const md: string[] = [];
for (const [si, set] of (sets.length ? sets : ['conll2003', 'wnut17']).entries()) {
  const systems = await ensureSystems(set);
  const rows = new Map(systems.map((s) => [s.name, [] as string[]]));
  for (const [pi, split] of SPLITS.entries()) {
    const gold = await readJsonlDocuments(join(sharedData, set, `${split}.jsonl`));
    const per = systems.map((s) => s.predictions[split].map((p) => predictionEntities(p)));
    const server = await startEl4nerReplayServer(systems, { splits: [split], port: PORT + 2 * si + pi });
    try {
      for (const [j, verifier] of systems.entries()) {
        const own = strictMicro(gold, withEntities(gold, per[j])).f1;
        const others = per.filter((_, k) => k !== j);
        const agreement =
          others.reduce((a, o) => a + strictMicro(withEntities(gold, o), withEntities(gold, per[j])).f1, 0) /
          others.length;
        const method = await createMethod(
          {
            models: replayModels(systems, server.url),
            labels: [...new Set(per.flat(2).map((e) => e.type))].sort(),
            cache: { path: join(repoRoot, '.el4ner/bench', `verifier-${set}`, 'responses.sqlite') },
            concurrency: 16,
            verifier: verifier.name,
            // the replayed systems ignore demonstrations: retrieval would only cost time
            stages: { retrieval: 'none' },
          },
          { log: () => {} },
        );
        try {
          const m = (await method.evaluate(gold)).micro;
          rows.get(verifier.name)?.push(pct(own), pct(agreement), pct(m.f1));
          process.stderr.write(`${set} ${split} verifier ${verifier.name}: F1 ${pct(m.f1)}\n`);
        } finally {
          await method.close();
        }
      }
    } finally {
      await server.close();
    }
  }
  const lines = [
    `#### ${set}: the default decision with each backbone as the verifier (strict F1)`,
    '',
    '| verifier | dev: own F1 | dev: agreement | **dev: EL4NER** | test: own F1 | test: agreement | test: EL4NER |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...[...rows].map(([name, cells]) => `| ${name} | ${cells.join(' | ')} |`),
  ];
  md.push(...lines, '');
  process.stdout.write(`${lines.join('\n')}\n\n`);
}
if (mdOut) writeFileSync(mdOut, `${md.join('\n')}\n`);

/**
 * How the defaults of `decision` and `verification` were chosen: decision variants on the DEV
 * split of each data set (never test), over the EL4NER replay harness (four real CRF taggers as
 * backbones, test/support/el4ner-replay-server.ts), through `createMethod` and the HTTP client,
 * beside the best single backbone and the plain majority vote on the same sentences.
 * Retrieval is off here: the replayed systems answer the same with or without demonstrations,
 * so it would only add SpanSim time (bench/ensemble-replay.ts runs the full default, retrieval
 * included, on test).
 *
 *   node --import tsx bench/decision-defaults.ts [set...] [--md out.md] [--only text]
 *
 * --only keeps the variants whose name contains the text (the baselines are always shown).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMethod } from '../src/assemble/index.js';
import { combineSystems } from '../src/el4ner/voting/combine.js';
import { readJsonlDocuments, strictMicro } from '../src/slm/data.js';
import { replayModels, startEl4nerReplayServer } from '../test/support/el4ner-replay-server.js';
import { ensureSystems, predictionEntities, repoRoot, sharedData } from '../test/support/replay-systems.js';
import { setsAndMarkdown } from './set-args.js';

const PORT = 47330;

const argv = process.argv.slice(2);
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? argv.splice(onlyAt, 2)[1] : undefined;
const { sets, mdOut } = setsAndMarkdown(argv);

/** A hard-vote variant: its `decision` with `votes: hard` (the default votes are soft). */
const hard = (v: Record<string, unknown>): Record<string, unknown> => ({
  ...v,
  decision: { votes: 'hard', ...((v.decision as object) ?? {}) },
});

/** entity-then-type at a threshold, with more of `decision` and the rest of the config. */
const ett = (threshold: number, rest: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...rest,
  decision: { rule: 'entity-then-type', threshold, ...((rest.decision as object) ?? {}) },
});

const noVerification = { stages: { verification: false } };

const variant = (name: string, config: Record<string, unknown>): [string, Record<string, unknown>] => [
  name,
  config,
];

const VARIANTS: Array<[string, Record<string, unknown>]> = [
  ...(
    [
      [
        'paper: hard-vote, verify all (veto)',
        { decision: { rule: 'hard-vote' }, verification: { policy: 'all' } },
      ],
      ['hard-vote, no verification', { decision: { rule: 'hard-vote' }, ...noVerification }],
      ['entity-then-type > 0.5, verify all', ett(0.5, { verification: { policy: 'all' } })],
      ['entity-then-type > 0.5, no verification', ett(0.5, noVerification)],
      ['entity-then-type > 0.25, no verification', ett(0.25, noVerification)],
      ['entity-then-type > 0.25, selective < 0.5', ett(0.25, { verification: { margin: 0.5 } })],
      ['entity-then-type > 0, no verification', ett(0, noVerification)],
      ['entity-then-type > 0, verify all', ett(0, { verification: { policy: 'all' } })],
      [
        'entity-then-type > 0, verify all, verdict as a feature',
        ett(0, { verification: { policy: 'all', use: 'feature' }, decision: { minScore: 0.5 } }),
      ],
      ['entity-then-type > 0, selective < 0.5', ett(0, { verification: { margin: 0.5 } })],
      [
        'type-vote, at least 1 of 4, no verification',
        { decision: { rule: 'type-vote', threshold: 0.125 }, ...noVerification },
      ],
      [
        'type-vote, at least 2 of 4, no verification',
        { decision: { rule: 'type-vote', threshold: 0.375 }, ...noVerification },
      ],
      ['hard votes: entity-then-type > 0, selective < 0 (the default before soft votes)', ett(0)],
      // with 4 voters both are "at least 1 of 4"; below one half the verifier decides
      ['hard votes: type-vote > 0.2, selective < 0 (the default, voting hard)', {}],
    ] as Array<[string, Record<string, unknown>]>
  ).map(([name, v]): [string, Record<string, unknown>] => [name, hard(v)]),
  // Soft votes: each classifier's vote spread by its CRF's span probabilities (token logprobs).
  variant('soft votes: entity-then-type > 0, selective < 0 (the default before this table)', ett(0)),
  ...[0.2, 0.3, 0.4, 0.5].map((threshold): [string, Record<string, unknown>] => [
    `soft votes: entity-then-type > ${threshold}, no verification`,
    ett(threshold, noVerification),
  ]),
  variant('soft votes: entity-then-type > 0.2, selective < 0', ett(0.2)),
  ...[0.3, 0.5].map((threshold): [string, Record<string, unknown>] => [
    `soft votes: type-vote > ${threshold}, no verification`,
    { decision: { rule: 'type-vote', threshold }, ...noVerification },
  ]),
  // the best type's mean probability instead of the entity's: above one half kept, below verified
  ...[0, 0.1, 0.2, 0.3].map((threshold): [string, Record<string, unknown>] => [
    threshold === 0.2
      ? '**default**: soft votes, type-vote > 0.2, selective < 0'
      : `soft votes: type-vote > ${threshold}, selective < 0`,
    threshold === 0.2 ? {} : { decision: { rule: 'type-vote', threshold } },
  ]),
].filter(([name]) => only === undefined || name.includes(only));

const pct = (x: number) => (100 * x).toFixed(2);
const md: string[] = [];
for (const [si, set] of (sets.length ? sets : ['conll2003', 'wnut17']).entries()) {
  const systems = await ensureSystems(set);
  const dev = await readJsonlDocuments(join(sharedData, set, 'dev.jsonl'));
  const per = systems.map((s) => s.predictions.dev.map((p) => predictionEntities(p)));
  const single = systems.map((s, j) => ({
    name: s.name,
    ...strictMicro(
      dev,
      dev.map((d, i) => ({ ...d, entities: per[j][i] })),
    ),
  }));
  const best = single.reduce((a, b) => (b.f1 > a.f1 ? b : a));
  const vote = strictMicro(
    dev,
    dev.map((d, i) => ({
      ...d,
      entities: combineSystems(
        d.text,
        systems.map((s, j) => ({ name: s.name, entities: per[j][i] })),
        { strategy: 'vote' },
      ),
    })),
  );
  // a fixed port keeps the cache keys: the variants share extraction and classification answers
  const server = await startEl4nerReplayServer(systems, { splits: ['dev'], port: PORT + si });
  const lines = [
    `### ${set} dev (${dev.length} sentences), ${systems.length} backbones, verifier ${systems[0].name}`,
    '',
    '| decision | P | R | F1 | vs best single | vs plain vote |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    `| best single backbone (${best.name}) | ${pct(best.p)} | ${pct(best.r)} | ${pct(best.f1)} | | |`,
    `| plain vote, strict majority | ${pct(vote.p)} | ${pct(vote.r)} | ${pct(vote.f1)} | | |`,
  ];
  try {
    for (const [name, variant] of VARIANTS) {
      const config = {
        models: replayModels(systems, server.url),
        labels: [...new Set(per.flat(2).map((e) => e.type))].sort(),
        cache: { path: join(repoRoot, '.el4ner/bench', `defaults-${set}`, 'responses.sqlite') },
        concurrency: 16,
        ...variant,
        stages: { retrieval: 'none', ...((variant.stages as object) ?? {}) },
      };
      const method = await createMethod(config, { log: () => {} });
      try {
        const m = (await method.evaluate(dev)).micro;
        const d = (x: number) => `${x >= 0 ? '+' : ''}${pct(x)}`;
        lines.push(
          `| ${name} | ${pct(m.p)} | ${pct(m.r)} | ${pct(m.f1)} | ${d(m.f1 - best.f1)} | ${d(m.f1 - vote.f1)} |`,
        );
        process.stderr.write(`${set} ${name}: F1 ${pct(m.f1)}\n`);
      } finally {
        await method.close();
      }
    }
  } finally {
    await server.close();
  }
  md.push(...lines, '');
  process.stdout.write(`${lines.join('\n')}\n\n`);
}
if (mdOut) writeFileSync(mdOut, `${md.join('\n')}\n`);

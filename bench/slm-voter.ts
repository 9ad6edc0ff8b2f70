/**
 * The CRF as an EL4NER voter (`fusion.voter`), voting hard and soft, on the replay harness: three
 * replayed CRFs are the backbones and `crf-default`'s model file is the SLM voter (loaded by
 * `fusion.slm`, as a user's own CRF is). Beside them in the same run: the three backbones alone,
 * and `crf-default` replayed as a fourth backbone (an LLM whose token logprobs carry the same
 * CRF's span probabilities). Default decision and verifier (`crf-default` behind the server) in
 * every row; retrieval off (the replayed systems ignore demonstrations).
 *
 *   node --import tsx bench/slm-voter.ts [set...] [--splits dev,test] [--md out.md]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMethod } from '../src/assemble/index.js';
import { slmVoter } from '../src/assemble/slm-voter.js';
import { readJsonlDocuments } from '../src/slm/data.js';
import { loadSlm } from '../src/slm/load.js';
import { replayModels, startEl4nerReplayServer } from '../test/support/el4ner-replay-server.js';
import { ensureSystems, repoRoot, sharedData } from '../test/support/replay-systems.js';
import { setsAndMarkdown } from './set-args.js';

const PORT = 47350;
const argv = process.argv.slice(2);
const splitsAt = argv.indexOf('--splits');
const splits = (splitsAt >= 0 ? argv.splice(splitsAt, 2)[1] : 'dev,test').split(',') as Array<'dev' | 'test'>;
const { sets, mdOut } = setsAndMarkdown(argv);

const pct = (x: number) => (100 * x).toFixed(2);
const md: string[] = [];
for (const [si, set] of (sets.length ? sets : ['conll2003', 'wnut17']).entries()) {
  const systems = await ensureSystems(set);
  const [voterSystem, ...backbones] = systems;
  const tagger = await loadSlm(voterSystem.modelFile);
  const server = await startEl4nerReplayServer(systems, { splits, port: PORT + si });
  const lines = [
    `### ${set}: backbones ${backbones.map((s) => s.name).join(', ')}; ${voterSystem.name} as the SLM voter`,
    '',
    `| ensemble | ${splits.map((s) => `${s} P | ${s} R | ${s} F1`).join(' | ')} |`,
    `| --- | ${splits.map(() => '---: | ---: | ---:').join(' | ')} |`,
  ];
  const rows: Array<[string, string[], { slm?: ReturnType<typeof slmVoter>; voter?: boolean }]> = [
    ['the three backbones', backbones.map((s) => s.name), {}],
    ['+ the CRF as SLM voter, voting hard', backbones.map((s) => s.name), { slm: hardVoter() }],
    ['+ the CRF as SLM voter, voting soft (`fusion.voter`)', backbones.map((s) => s.name), { voter: true }],
    [
      `+ ${voterSystem.name} replayed as a fourth backbone`,
      [...backbones, voterSystem].map((s) => s.name),
      {},
    ],
  ];
  try {
    for (const [name, names, how] of rows) {
      const cells: string[] = [];
      for (const split of splits) {
        const docs = await readJsonlDocuments(join(sharedData, set, `${split}.jsonl`));
        const config = {
          models: replayModels(systems, server.url),
          backbones: names,
          verifier: voterSystem.name,
          labels: [...tagger.labels.filter((l) => l.startsWith('B-')).map((l) => l.slice(2))].sort(),
          cache: { path: join(repoRoot, '.el4ner/bench', `slm-voter-${set}`, 'responses.sqlite') },
          concurrency: 16,
          stages: { retrieval: 'none' },
          ...(how.voter ? { fusion: { slm: voterSystem.modelFile, voter: true } } : {}),
        };
        const method = await createMethod(config, { log: () => {}, ...(how.slm ? { slm: how.slm } : {}) });
        try {
          const m = (await method.evaluate(docs)).micro;
          cells.push(pct(m.p), pct(m.r), pct(m.f1));
          process.stderr.write(`${set} ${split} ${name}: F1 ${pct(m.f1)}\n`);
        } finally {
          await method.close();
        }
      }
      lines.push(`| ${name} | ${cells.join(' | ')} |`);
    }
  } finally {
    await server.close();
    await tagger.close();
  }
  md.push(...lines, '');
  process.stdout.write(`${lines.join('\n')}\n\n`);

  /** The production voter without its probabilities: what `fusion.voter` did before soft SLM votes. */
  function hardVoter() {
    const { spanProbabilities: _soft, ...hard } = slmVoter(tagger);
    return hard;
  }
}
if (mdOut) writeFileSync(mdOut, `${md.join('\n')}\n`);

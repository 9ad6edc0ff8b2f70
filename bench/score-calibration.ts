/**
 * Does the calibrated score mean something on data it was not fitted on? The calibration
 * `el4ner tune` fitted on dev (its `calibration` candidate in .el4ner/bench/ensemble-<set>/tune.json,
 * written by bench/ensemble-replay.ts) runs on the TEST split over the replay harness, with every
 * threshold cut after one run: strict P/R/F1 per `--threshold`, and the reliability of the score
 * (share of correct entities per score bin, expected calibration error).
 * Retrieval is off: the replayed systems answer the same with or without demonstrations.
 *
 *   node --import tsx bench/score-calibration.ts [set...] [--md out.md]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMethod } from '../src/assemble/index.js';
import type { NerDocument } from '../src/core/types.js';
import { type OverlapPolicy, resolveOverlaps } from '../src/el4ner/voting/overlaps.js';
import { countDocument } from '../src/eval/strict.js';
import { readJsonlDocuments } from '../src/slm/data.js';
import { replayModels, startEl4nerReplayServer } from '../test/support/el4ner-replay-server.js';
import { ensureSystems, repoRoot, sharedData } from '../test/support/replay-systems.js';
import { setsAndMarkdown } from './set-args.js';

const { sets, mdOut } = setsAndMarkdown(process.argv.slice(2));
const pct = (x: number) => (100 * x).toFixed(2);
const md: string[] = [];

for (const set of sets.length ? sets : ['conll2003', 'wnut17']) {
  const work = join(repoRoot, '.el4ner/bench', `ensemble-${set}`);
  const tune = JSON.parse(readFileSync(join(work, 'tune.json'), 'utf8')) as {
    candidates: Array<{
      step: string;
      status: string;
      settings: Record<string, unknown> & {
        calibration?: Record<string, number>;
        minScore: number;
        backbones: string[];
        verifier: string | null;
        policy: string;
        margin: number;
        use: string;
      };
    }>;
  };
  const cal = tune.candidates.find((c) => c.step === 'calibration' && c.status === 'evaluated');
  if (!cal?.settings.calibration) throw new Error(`${set}: no calibration candidate in ${work}/tune.json`);
  const s = cal.settings;
  const systems = await ensureSystems(set);
  const test = await readJsonlDocuments(join(sharedData, set, 'test.jsonl'));
  const server = await startEl4nerReplayServer(systems, { splits: ['test'] });
  let docs: NerDocument[];
  try {
    const method = await createMethod(
      {
        models: replayModels(systems, server.url),
        labels: [...new Set(test.flatMap((d) => d.entities.map((e) => e.type)))].sort(),
        backbones: s.backbones,
        ...(s.verifier ? { verifier: s.verifier } : {}),
        stages: { retrieval: 'none', verification: s.verifier !== null },
        verification: { policy: s.policy, margin: s.margin, use: s.use },
        // overlaps 'nested' here: the cut and the overlap rule are applied below, per threshold
        decision: {
          rule: 'entity-then-type',
          threshold: 0,
          minScore: 0,
          overlaps: 'nested',
          calibration: { weights: s.calibration },
        },
        cache: { enabled: false },
        concurrency: 16,
      },
      { log: () => {} },
    );
    try {
      docs = (await method.tag(test)).docs;
    } finally {
      await method.close();
    }
  } finally {
    await server.close();
  }
  const flat: OverlapPolicy = 'flat';
  const gold = test.map((d) => new Set(d.entities.map((e) => `${e.start}:${e.end}:${e.type}`)));
  const lines = [
    `### ${set} test (${test.length} sentences): the calibration tune fitted on dev, cut at each threshold`,
    '',
    '| --threshold | P | R | F1 | entities |',
    '| ---: | ---: | ---: | ---: | ---: |',
  ];
  // the grid, and tune's own threshold where it falls between two of its points
  const grid = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  const cuts = [...new Set([...grid, s.minScore])].sort((a, b) => a - b);
  for (const t of cuts) {
    const c = { tp: 0, fp: 0, fn: 0 };
    let n = 0;
    docs.forEach((d, i) => {
      const kept = resolveOverlaps(
        d.entities.filter((e) => (e.score ?? 0) >= t),
        flat,
        s.backbones,
      );
      n += kept.length;
      const k = countDocument(test[i].entities, kept).total;
      c.tp += k.tp;
      c.fp += k.fp;
      c.fn += k.fn;
    });
    const p = c.tp / (c.tp + c.fp || 1);
    const r = c.tp / (c.tp + c.fn || 1);
    const f = p + r ? (2 * p * r) / (p + r) : 0;
    lines.push(
      `| ${t}${t === s.minScore ? " (tune's choice)" : ''} | ${pct(p)} | ${pct(r)} | ${pct(f)} | ${n} |`,
    );
  }
  // reliability over every candidate (before the overlap rule)
  const bins = Array.from({ length: 10 }, () => ({ n: 0, correct: 0, sum: 0 }));
  docs.forEach((d, i) => {
    for (const e of d.entities) {
      const b = bins[Math.min(9, Math.floor((e.score ?? 0) * 10))];
      b.n++;
      b.sum += e.score ?? 0;
      if (gold[i].has(`${e.start}:${e.end}:${e.type}`)) b.correct++;
    }
  });
  const total = bins.reduce((a, b) => a + b.n, 0);
  const ece = bins.reduce(
    (a, b) => a + (b.n ? (b.n / total) * Math.abs(b.correct / b.n - b.sum / b.n) : 0),
    0,
  );
  lines.push(
    '',
    `Reliability of the score on test (${total} candidate entities): expected calibration error ${ece.toFixed(3)}.`,
    '',
    '| score bin | entities | mean score | share correct |',
    '| --- | ---: | ---: | ---: |',
    ...bins
      .map((b, i) =>
        b.n
          ? `| ${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)} | ${b.n} | ${(b.sum / b.n).toFixed(3)} | ${(b.correct / b.n).toFixed(3)} |`
          : '',
      )
      .filter(Boolean),
    '',
  );
  md.push(...lines);
  process.stdout.write(`${lines.join('\n')}\n`);
}
if (mdOut) writeFileSync(mdOut, `${md.join('\n')}\n`);

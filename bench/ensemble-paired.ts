/**
 * Are the ensemble's differences on test real? Each comparison of the README's ensemble table
 * (bench/ensemble-replay.ts) as a paired bootstrap over the test sentences, with `el4ner score
 * --against`: EL4NER with default settings against the strict majority and the best single backbone,
 * EL4NER tuned on dev against the plain vote at the threshold chosen on dev.
 *
 *   node --import tsx bench/ensemble-paired.ts [set...] [--port 47310] [--md out.md]
 *
 * It reuses what bench/ensemble-replay.ts left in .el4ner/bench/ensemble-<set>/ (the configs, tune's
 * choice and the response cache; run that first, with the same --port) and writes the predictions
 * it compares there: EL4NER's by `el4ner run`, the plain votes as `el4ner ensemble` combines them.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NerDocument } from '../src/core/types.js';
import { readJsonlDocuments } from '../src/slm/data.js';
import { startEl4nerReplayServer } from '../test/support/el4ner-replay-server.js';
import { ensureSystems, repoRoot, sharedData } from '../test/support/replay-systems.js';
import { runEl4ner } from './cli.js';
import { score, votePredictions } from './replay-votes.js';

const args = process.argv.slice(2);
const sets: string[] = [];
let port = 47310;
let mdOut: string | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--port') port = Number(args[++i]);
  else if (a === '--md') mdOut = resolve(args[++i]);
  else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
  else sets.push(a);
}

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const el4ner = (argv: string[]) => runEl4ner(argv, log);
const writeJsonl = (file: string, docs: readonly NerDocument[]) =>
  writeFileSync(
    file,
    docs.map((d) => `${JSON.stringify({ id: d.id, text: d.text, entities: d.entities })}\n`).join(''),
  );
const pct = (x: number) => (100 * x).toFixed(2);
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${pct(Math.abs(x))}`;

interface Comparison {
  against_f1: number;
  delta_f1: number;
  bootstrap: { win_share: number; delta_low: number; delta_high: number; n: number };
}

const md: string[] = [];
for (const [si, set] of (sets.length ? sets : ['conll2003', 'wnut17']).entries()) {
  const work = join(repoRoot, '.el4ner/bench', `ensemble-${set}`);
  const configFile = join(work, 'config.yaml');
  const tunedFile = join(work, 'tuned.yaml');
  for (const f of [configFile, tunedFile])
    if (!existsSync(f)) throw new Error(`${f} is missing: run bench/ensemble-replay.ts ${set} first`);
  const systems = await ensureSystems(set, undefined, { log });
  const server = await startEl4nerReplayServer(systems, { port: port + si });
  const testFile = join(sharedData, set, 'test.jsonl');
  const dev = await readJsonlDocuments(join(sharedData, set, 'dev.jsonl'));
  const test = await readJsonlDocuments(testFile);
  try {
    const files: Record<string, string> = {};
    for (const [name, config] of [
      ['default', configFile],
      ['tuned', tunedFile],
    ]) {
      files[name] = join(work, `${name}-test.jsonl`);
      await el4ner(['run', '--config', config, '--input', testFile, '--output', files[name], '--overwrite']);
    }
    // The plain vote's threshold is chosen on dev, as in the ensemble table.
    const devVotes = votePredictions(systems, 'dev', dev);
    const chosen = systems
      .map((_, k) => ({ minVotes: k + 1, f1: score(dev, devVotes.vote(k + 1)).f1 }))
      .reduce((a, b) => (b.f1 > a.f1 ? b : a)).minVotes;
    const testVotes = votePredictions(systems, 'test', test);
    const best = systems
      .map((s, j) => ({ name: s.name, j, f1: score(test, testVotes.backbone(j)).f1 }))
      .reduce((a, b) => (b.f1 > a.f1 ? b : a));
    files.majority = join(work, 'majority-test.jsonl');
    writeJsonl(files.majority, testVotes.vote());
    files.chosen = join(work, 'vote-dev-chosen-test.jsonl');
    writeJsonl(files.chosen, testVotes.vote(chosen));
    files.best = join(work, 'best-single-test.jsonl');
    writeJsonl(files.best, testVotes.backbone(best.j));

    const rows: Array<[string, string, string]> = [
      ['EL4NER default', 'default', 'majority'],
      ['EL4NER default', 'default', 'best'],
      ['EL4NER tuned on dev', 'tuned', 'chosen'],
      ['EL4NER tuned on dev', 'tuned', 'best'],
    ];
    const names: Record<string, string> = {
      majority: 'plain vote, strict majority',
      chosen: `plain vote, at least ${chosen} of ${systems.length} (chosen on dev)`,
      best: `best single backbone (${best.name})`,
    };
    md.push(
      `### ${set} test (${test.length} sentences)`,
      '',
      '| system | against | F1 | against F1 | difference | 95% paired bootstrap CI | higher in |',
      '| --- | --- | ---: | ---: | ---: | --- | ---: |',
    );
    for (const [label, a, b] of rows) {
      const out = await el4ner([
        'score',
        '--gold',
        testFile,
        '--pred',
        files[a],
        '--against',
        files[b],
        '--json',
      ]);
      const report = JSON.parse(out) as { micro: { f1: number }; comparison: Comparison };
      const c = report.comparison;
      md.push(
        `| ${label} | ${names[b]} | ${pct(report.micro.f1)} | ${pct(c.against_f1)} | ${signed(c.delta_f1)} | ` +
          `[${signed(c.bootstrap.delta_low)}, ${signed(c.bootstrap.delta_high)}] | ` +
          `${(100 * c.bootstrap.win_share).toFixed(1)}% of ${c.bootstrap.n} |`,
      );
    }
    md.push('');
  } finally {
    await server.close();
  }
}
const text = md.join('\n');
console.log(text);
if (mdOut) writeFileSync(mdOut, `${text}\n`);

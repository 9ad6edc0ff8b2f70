/**
 * EL4NER ensemble decisions on replayed real taggers. Four CRFs trained with different features,
 * training data and c2 (test/support/replay-systems.ts) are the backbones, replayed by an
 * OpenAI-compatible HTTP server (test/support/el4ner-replay-server.ts): extraction gives the
 * system's spans, classification the system's type or none (asked for logprobs, with its CRF's
 * probability of every type for that span), verification yes when the system gives that span
 * that type. Everything below runs the CLI (`el4ner ablate`, `el4ner tune`,
 * `el4ner eval`) as a user would, over the project's HTTP client and response cache.
 *
 * Rows, on the test split:
 * - each backbone alone (its replayed predictions, scored directly);
 * - the plain vote of `el4ner ensemble --strategy vote` (combineSystems, overlaps resolved as that
 *   command does on flat outputs) at its default (a strict majority) and at every vote threshold,
 *   the threshold chosen on dev marked, with the F1 it had with overlaps kept;
 * - EL4NER with default settings (soft votes), the same with hard votes, with the paper's decision
 *   (hard vote, verification of every entity), and tuned on dev by `el4ner tune` (chosen on all of dev,
 *   checked by cross-validation; it may choose soft votes);
 * - the ablation rows of `el4ner ablate`.
 * Nothing is chosen on test.
 *
 *   node --import tsx bench/ensemble-replay.ts [set...] [--port 47310] [--json out.json] [--md out.md]
 *     [--ablation-dir docs] [--budget N]
 *
 * Sets default to conll2003 and wnut17. The CRFs are trained once into .el4ner/replay/ (CoNLL
 * takes a few minutes); a run takes tens of minutes on two cores (SpanSim over the training pool
 * dominates). The work folder .el4ner/bench/ensemble-<set>/ keeps the response cache and the pool
 * index, so a second run is much faster (with the same --port).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PipelineReport } from '../src/el4ner/report.js';
import { readJsonlDocuments } from '../src/slm/data.js';
import { replayModels, startEl4nerReplayServer } from '../test/support/el4ner-replay-server.js';
import { ensureSystems, repoRoot, sharedData } from '../test/support/replay-systems.js';
import { runEl4ner } from './cli.js';
import { plainVotes, type Score } from './replay-votes.js';

const args = process.argv.slice(2);
const sets: string[] = [];
let port = 47310;
let jsonOut: string | undefined;
let mdOut: string | undefined;
let ablationDir = join(repoRoot, 'docs');
let budget = 10_000_000;
/** Only the first N sentences of dev and test (a quick check; the README figures use all). */
let limit = Number.POSITIVE_INFINITY;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--port') port = Number(args[++i]);
  else if (a === '--json') jsonOut = resolve(args[++i]);
  else if (a === '--md') mdOut = resolve(args[++i]);
  else if (a === '--ablation-dir') ablationDir = resolve(args[++i]);
  else if (a === '--budget') budget = Number(args[++i]);
  else if (a === '--limit') limit = Number(args[++i]);
  else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
  else sets.push(a);
}

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const el4ner = (argv: string[]) => runEl4ner(argv, log);

const pct = (x: number) => (100 * x).toFixed(2);
const row = (name: string, s: Score, note = '') =>
  `| ${name} | ${pct(s.p)} | ${pct(s.r)} | ${pct(s.f1)} | ${note} |`;

const all: Record<string, unknown> = {};
const md: string[] = [];
for (const [si, set] of (sets.length ? sets : ['conll2003', 'wnut17']).entries()) {
  const work = join(repoRoot, '.el4ner/bench', `ensemble-${set}`);
  mkdirSync(work, { recursive: true });
  const systems = await ensureSystems(set, undefined, { log });
  const sliced = systems.map((s) => ({
    ...s,
    predictions: { dev: s.predictions.dev.slice(0, limit), test: s.predictions.test.slice(0, limit) },
  }));
  const server = await startEl4nerReplayServer(systems, { port: port + si });
  const devFile = join(sharedData, set, 'dev.jsonl');
  const testFile = join(sharedData, set, 'test.jsonl');
  const dev = (await readJsonlDocuments(devFile)).slice(0, limit);
  const test = (await readJsonlDocuments(testFile)).slice(0, limit);
  const cut = Number.isFinite(limit) ? ['--limit', String(limit)] : [];
  try {
    const base = {
      models: replayModels(systems, server.url, { server: 'vllm', concurrency: 8, timeoutMs: 60_000 }),
      pool: join(sharedData, set, 'train.jsonl'),
      cache: { path: join(work, 'cache/responses.sqlite') },
      concurrency: 16,
    };
    const configFile = join(work, 'config.yaml');
    const paperFile = join(work, 'paper.yaml');
    const hardFile = join(work, 'hard.yaml');
    writeFileSync(configFile, JSON.stringify(base, null, 1));
    writeFileSync(hardFile, JSON.stringify({ ...base, decision: { votes: 'hard' } }, null, 1));
    writeFileSync(
      paperFile,
      JSON.stringify(
        { ...base, decision: { rule: 'hard-vote', votes: 'hard' }, verification: { policy: 'all' } },
        null,
        1,
      ),
    );

    const devVotes = plainVotes(sliced, 'dev', dev);
    const testVotes = plainVotes(sliced, 'test', test);
    const chosenMin = devVotes.byThreshold.reduce((a, b) => (b.f1 > a.f1 ? b : a)).minVotes;

    const ablationBase = join(ablationDir, `ablation-${set}`);
    await el4ner(['ablate', '--config', configFile, '--test', testFile, '--out', ablationBase, ...cut]);
    const ablation = JSON.parse(readFileSync(`${ablationBase}.json`, 'utf8')) as {
      rows: Array<Score & { row: string; description: string; perSentence: { calls: number } }>;
    };
    const paperReport = join(work, 'paper-test.json');
    await el4ner(['eval', '--config', paperFile, '--test', testFile, '--report', paperReport, ...cut]);
    const paper = JSON.parse(readFileSync(paperReport, 'utf8')) as PipelineReport & { kind: string };
    const hardReport = join(work, 'hard-test.json');
    await el4ner(['eval', '--config', hardFile, '--test', testFile, '--report', hardReport, ...cut]);
    const hard = JSON.parse(readFileSync(hardReport, 'utf8')) as PipelineReport;

    const tunedFile = join(work, 'tuned.yaml');
    const tuneReport = join(work, 'tune.json');
    const devSlice = join(work, 'dev.jsonl');
    writeFileSync(devSlice, dev.map((d) => `${JSON.stringify(d)}\n`).join(''));
    const tuneOut = await el4ner([
      'tune',
      '--config',
      configFile,
      '--dev',
      devSlice,
      '--budget',
      String(budget),
      '--sample',
      String(dev.length),
      '--k-values',
      '0,5',
      '--out',
      tunedFile,
      '--report',
      tuneReport,
    ]);
    writeFileSync(join(work, 'tune.txt'), tuneOut);
    const tunedReport = join(work, 'tuned-test.json');
    await el4ner(['eval', '--config', tunedFile, '--test', testFile, '--report', tunedReport, ...cut]);
    const tuned = JSON.parse(readFileSync(tunedReport, 'utf8')) as PipelineReport;
    const tuneResult = JSON.parse(readFileSync(tuneReport, 'utf8'));

    const full = ablation.rows.find((r) => r.row === 'full')!;
    const best = testVotes.backbones.reduce((a, b) => (b.f1 > a.f1 ? b : a));
    const lines = [
      `### ${set} test (${test.length} sentences)`,
      '',
      '| system | P | R | F1 | note |',
      '| --- | ---: | ---: | ---: | --- |',
      ...testVotes.backbones.map((b) =>
        row(`backbone ${b.name}`, b, b === best ? 'best single backbone' : ''),
      ),
      row('plain vote, strict majority (`el4ner ensemble --strategy vote`)', testVotes.majority),
      ...testVotes.byThreshold.map((v) =>
        row(
          `plain vote, at least ${v.minVotes} of ${systems.length}`,
          v,
          [
            v.minVotes === chosenMin ? 'threshold chosen on dev' : '',
            v.overlapsKept.f1 !== v.f1
              ? `overlaps kept (not a valid flat output): ${pct(v.overlapsKept.f1)}`
              : '',
          ]
            .filter(Boolean)
            .join('; '),
        ),
      ),
      row("EL4NER, the paper's decision (hard vote, verify all)", paper.final.micro),
      row(
        '**EL4NER, default settings** (soft votes)',
        full,
        `${full.perSentence.calls.toFixed(2)} calls / sentence`,
      ),
      row('EL4NER, default settings with hard votes (`decision.votes: hard`)', hard.final.micro),
      row(
        '**EL4NER, tuned on dev** (`el4ner tune`)',
        tuned.final.micro,
        tuneResult.chosen
          ? `held-out dev F1 ${pct(tuneResult.heldOut.best?.f1 ?? 0)} vs default ${pct(tuneResult.heldOut.default?.f1 ?? 0)}`
          : '',
      ),
      ...ablation.rows
        .filter((r) => r.row !== 'full')
        .map((r) =>
          row(`ablation: ${r.description}`, r, `${r.perSentence.calls.toFixed(2)} calls / sentence`),
        ),
      '',
    ];
    md.push(...lines);
    process.stdout.write(`${lines.join('\n')}\n`);
    all[set] = {
      sentences: { dev: dev.length, test: test.length },
      backbones: systems.map((s) => ({ name: s.name, description: s.spec.description })),
      dev: devVotes,
      test: testVotes,
      chosenMinVotes: chosenMin,
      el4ner: {
        default: full,
        paper: paper.final.micro,
        hard: hard.final.micro,
        tuned: tuned.final.micro,
        tune: { chosen: tuneResult.chosen, heldOut: tuneResult.heldOut, split: tuneResult.split },
      },
      ablation: ablation.rows,
    };
  } finally {
    await server.close();
  }
}
if (mdOut) writeFileSync(mdOut, `${md.join('\n')}\n`);
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify(all, null, 2)}\n`);

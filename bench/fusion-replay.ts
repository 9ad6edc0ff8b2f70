/**
 * SLM + LLM fusion on replayed real taggers: the CRF as `el4ner train-slm` trains it by default
 * (`crf-recipe`, document features on) is the SLM, another real tagger (a sentence-level CRF
 * trained with other features, data and c2; see test/support/replay-systems.ts) is replayed
 * as the inline-tagging LLM by an OpenAI-compatible HTTP server, with token logprobs from its
 * marginals. Each row runs the CLI, `el4ner eval` with `fusion.lambda: auto`: lambda is chosen
 * on dev (with the bootstrap guard of src/fusion/lambda.ts), the scores are on test. When the
 * guard set the best dev lambdas aside, the same fusion (createFusion over the same server) is
 * scored at those lambdas too, so the row also shows what the plain argmax would have scored.
 *
 *   node --import tsx bench/fusion-replay.ts [set...] [--llm a,b] [--probability category,boundary,mean]
 *     [--slm crf-recipe|crf-default] [--cache DIR] [--fresh] [--threads N] [--json out.json]
 *
 * `--slm crf-default` takes the sentence-level default CRF as the SLM (the table before the SLM
 * read its document features).
 *
 * Sets default to conll2003 and wnut17. The systems are trained once (CoNLL-2003 takes a few
 * minutes) and cached in .el4ner/replay/.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { OpenAIEngine } from '../src/engines/openai.js';
import { createFusion, type FusionReport, fusionEval } from '../src/fusion/pipeline.js';
import type { ProbabilityKind } from '../src/fusion/probabilities.js';
import { readJsonlDocuments } from '../src/slm/data.js';
import { CrfTagger } from '../src/slm/tagger.js';
import { startReplayServer } from '../test/support/replay-server.js';
import {
  defaultReplayCache,
  ensureSystems,
  RECIPE_SYSTEM,
  REPLAY_SYSTEMS,
  replaySystemsFor,
  repoRoot,
  sharedData,
} from '../test/support/replay-systems.js';

const args = process.argv.slice(2);
const sets: string[] = [];
let llmNames: string[] | undefined;
let kinds: ProbabilityKind[] = ['category'];
let cacheDir = defaultReplayCache;
let fresh = false;
let threads = 1;
let jsonOut: string | undefined;
/** The SLM: the CRF as train-slm trains it (document features on), or a sentence-level replay system. */
let slmName = RECIPE_SYSTEM.name;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--llm') llmNames = args[++i].split(',');
  else if (a === '--probability') kinds = args[++i].split(',') as ProbabilityKind[];
  else if (a === '--cache') cacheDir = resolve(args[++i]);
  else if (a === '--fresh') fresh = true;
  else if (a === '--threads') threads = Number(args[++i]);
  else if (a === '--json') jsonOut = args[++i];
  else if (a === '--slm') slmName = args[++i];
  else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
  else sets.push(a);
}
const llms =
  llmNames ?? [...REPLAY_SYSTEMS.map((s) => s.name), 'crf-cross-corpus'].filter((n) => n !== slmName);

function run(cmd: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
  });
}

interface Row {
  set: string;
  llm: string;
  probability: string;
  lambda: number;
  lambdaOutside: number;
  devF1: number;
  /** The best dev lambdas and what they score on test (the chosen ones unless the guard stepped in). */
  argmax: { lambda: number; lambdaOutside: number; devF1: number; fused: number; winShare?: number };
  slm: number;
  llmAlone: number;
  llmOwn: number;
  fused: number;
  decisions: FusionReport['decisions'];
  fallbacks: number;
  withoutLogprobs: number;
  seconds: number;
}

const rows: Row[] = [];
const systemRows: string[] = [];
const work = mkdtempSync(join(tmpdir(), 'el4ner-fusion-replay-'));
try {
  for (const set of sets.length ? sets : ['conll2003', 'wnut17']) {
    const specs = [RECIPE_SYSTEM, ...replaySystemsFor(set)].filter(
      (s) => s.name === slmName || llms.includes(s.name),
    );
    const systems = await ensureSystems(set, specs, {
      cacheDir,
      fresh,
      threads,
      log: (l) => console.error(l),
    });
    for (const s of systems) {
      systemRows.push(
        `| ${set} | ${s.name} | ${s.spec.description} | ${(100 * s.scores.dev.f1).toFixed(2)} | ${(100 * s.scores.test.f1).toFixed(2)} | ${s.training.seconds ?? '?'} |`,
      );
    }
    const slm = systems.find((s) => s.name === slmName);
    if (!slm) throw new Error('the SLM system is missing');
    const server = await startReplayServer(systems);
    try {
      for (const llm of llms) {
        const system = systems.find((s) => s.name === llm);
        if (!system) continue;
        for (const probability of kinds) {
          const tag = `${set}-${llm}-${probability}`;
          const configFile = join(work, `${tag}.json`);
          const reportFile = join(work, `${tag}.report.json`);
          writeFileSync(
            configFile,
            JSON.stringify({
              models: [
                {
                  name: llm,
                  engine: 'openai',
                  baseUrl: server.url,
                  model: llm,
                  server: 'vllm',
                  concurrency: 8,
                  timeoutMs: 60_000,
                  maxAttempts: 2,
                },
              ],
              cache: { enabled: false },
              concurrency: 8,
              fusion: {
                slm: slm.modelFile,
                llm,
                lambda: 'auto',
                probability,
                dev: join(sharedData, set, 'dev.jsonl'),
              },
            }),
          );
          const t0 = Date.now();
          console.error(`${tag}: el4ner eval (lambda chosen on dev, scored on test)`);
          const r = await run(process.execPath, [
            join(repoRoot, 'bin/el4ner.js'),
            'eval',
            '--config',
            configFile,
            '--test',
            join(sharedData, set, 'test.jsonl'),
            '--report',
            reportFile,
            '--no-cache',
          ]);
          if (r.code !== 0) throw new Error(`${tag}: el4ner eval failed (${r.code})\n${r.stderr}`);
          console.error(r.stdout);
          const report = JSON.parse(readFileSync(reportFile, 'utf8')) as FusionReport;
          const search = report.lambdaSearch;
          if (!report.llm || !search) throw new Error(`${tag}: no LLM scores or no lambda search`);
          let argmaxFused = report.fused.strict.f1;
          if (search.guard && !search.guard.kept) {
            const { lambda, lambdaOutside } = search.best;
            console.error(
              `${tag}: scoring the best dev lambdas ${lambda} / ${lambdaOutside}, which the guard set aside`,
            );
            const engine = new OpenAIEngine({
              name: llm,
              engine: 'openai',
              baseUrl: server.url,
              model: llm,
              server: 'vllm',
              concurrency: 8,
              timeoutMs: 60_000,
              maxAttempts: 2,
              temperature: 0,
              maxTokens: 512,
            });
            const fusion = createFusion({
              slm: await CrfTagger.load(slm.modelFile),
              llm: engine,
              lambda,
              lambdaOutside,
              probability: probability as 'category',
            });
            const again = await fusionEval(
              await readJsonlDocuments(join(sharedData, set, 'test.jsonl')),
              fusion,
              { concurrency: 8 },
            );
            if (again.slm.strict.f1 !== report.slm.strict.f1 || again.llm?.strict.f1 !== report.llm.strict.f1)
              throw new Error(`${tag}: the in-process run does not reproduce the CLI's SLM and LLM scores`);
            argmaxFused = again.fused.strict.f1;
          }
          rows.push({
            set,
            llm,
            probability,
            lambda: report.lambda,
            lambdaOutside: report.lambdaOutside,
            devF1: search.f1,
            argmax: {
              lambda: search.best.lambda,
              lambdaOutside: search.best.lambdaOutside,
              devF1: search.best.f1,
              fused: argmaxFused,
              winShare: search.guard?.winShare,
            },
            slm: report.slm.strict.f1,
            llmAlone: report.llm.strict.f1,
            llmOwn: system.scores.test.f1,
            fused: report.fused.strict.f1,
            decisions: report.decisions,
            fallbacks: report.fallbacks['llm-error'],
            withoutLogprobs: report.withoutLogprobs,
            seconds: (Date.now() - t0) / 1000,
          });
        }
      }
    } finally {
      await server.close();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const pct = (x: number) => (100 * x).toFixed(2);
const won = (d: FusionReport['decisions'], k: keyof FusionReport['decisions']) =>
  `${d[k].llm}/${d[k].llm + d[k].slm}`;
console.log('| data set | system | how it is trained | dev F1 | test F1 | train s |');
console.log('|---|---|---|---:|---:|---:|');
for (const r of systemRows) console.log(r);
console.log('');
console.log(
  '| test set | LLM (replayed) | P | lambda / removal lambda (dev F1) | CRF alone | LLM alone | fused | fused - better | LLM won: type | boundary | LLM-only | SLM-only | best dev lambdas (dev F1, bootstrap wins): test F1 |',
);
console.log('|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
const signed = (x: number) => `${x >= 0 ? '+' : ''}${pct(x)}`;
for (const r of rows) {
  const better = Math.max(r.slm, r.llmAlone);
  const a = r.argmax;
  const argmax =
    a.winShare === undefined
      ? 'the same'
      : `${a.lambda.toPrecision(3)} / ${a.lambdaOutside.toPrecision(3)} (${pct(a.devF1)}, ${(100 * a.winShare).toFixed(0)}%): ${pct(a.fused)}`;
  console.log(
    `| ${r.set} | ${r.llm} | ${r.probability} | ${r.lambda.toPrecision(3)} / ${r.lambdaOutside.toPrecision(3)} (${pct(r.devF1)}) | ${pct(r.slm)} | ${pct(r.llmAlone)} | **${pct(r.fused)}** | ${signed(r.fused - better)} | ${won(r.decisions, 'type')} | ${won(r.decisions, 'boundary')} | ${won(r.decisions, 'llmOnly')} | ${won(r.decisions, 'slmOnly')} | ${argmax} |`,
  );
}
for (const r of rows) {
  // The replay loses nothing in transport: the LLM alone scores what the system scored itself.
  if (Math.abs(r.llmAlone - r.llmOwn) > 1e-12)
    console.error(`${r.set}/${r.llm}: LLM alone ${r.llmAlone} but the system scored ${r.llmOwn}`);
  if (r.fallbacks || r.withoutLogprobs)
    console.error(
      `${r.set}/${r.llm}: ${r.fallbacks} LLM failures, ${r.withoutLogprobs} answers without logprobs`,
    );
}
if (jsonOut) await writeFile(jsonOut, `${JSON.stringify(rows, null, 2)}\n`);

/**
 * Answers from small models: F1 with clean answers and with a share of misbehaving ones, re-asks
 * per 100 sentences, and how the demonstrations compare with the real queries (share of `none` /
 * `no` answers, entity-free examples). The models are the small-model simulator
 * (test/support/small-model-server.ts: a real HTTP server, a noisy oracle, misbehaving answers),
 * reached through the wiring production uses: `createMethod` with the config's `models` pointing
 * at the simulator's URL (the OpenAI engine over HTTP), on CoNLL-2003 dev sentences with a pool of
 * CoNLL-2003 train sentences, one backbone that is also the verifier, and three backbones.
 *
 *   node --import tsx bench/answers.ts [--sentences 300] [--pool 2000] [--rate 0.3] [--before DIR]
 *
 * `--before DIR`: also runs the same simulator against another checkout's `el4ner eval` (e.g. the
 * code before this work: `git worktree add /tmp/answers-before 56adf75` with node_modules linked in).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMethod } from '../src/assemble/index.js';
import type { NerDocument } from '../src/core/types.js';
import type { PipelineReport } from '../src/el4ner/report.js';
import { goldByText, goldOf, locateItem, parsePrompt } from '../test/support/oracle.js';
import { schemaName } from '../test/support/oracle-server.js';
import type { ScriptedRequest } from '../test/support/scripted-server.js';
import { type SmallModelServer, startSmallModelServer } from '../test/support/small-model-server.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const data = path.resolve(root, '../shared/data/conll2003');
const arg = (name: string, dflt: string | undefined) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};

function read(file: string, n: number): NerDocument[] {
  const out: NerDocument[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line);
    out.push({ id: o.id, text: o.text, entities: o.entities });
    if (out.length >= n) break;
  }
  return out;
}

const nSentences = Number(arg('sentences', '300'));
const rate = Number(arg('rate', '0.3'));
const before = arg('before', undefined);
const dev = read(path.join(data, 'dev.jsonl'), nSentences);
const pool = read(path.join(data, 'train.jsonl'), Number(arg('pool', '2000')));
const tmp = mkdtempSync(path.join(tmpdir(), 'el4ner-bench-answers-'));
const poolFile = path.join(tmp, 'pool.jsonl');
const devFile = path.join(tmp, 'dev.jsonl');
writeFileSync(poolFile, `${pool.map((d) => JSON.stringify(d)).join('\n')}\n`);
writeFileSync(devFile, `${dev.map((d) => JSON.stringify(d)).join('\n')}\n`);
const labels = ['LOC', 'MISC', 'ORG', 'PER'];

const setups = {
  'one model (backbone = verifier)': ['m'],
  'three backbones': ['a', 'b', 'c'],
} as const;

function config(url: string, models: readonly string[]) {
  return {
    models: models.map((name) => ({
      name,
      engine: 'openai',
      baseUrl: url,
      model: name,
      server: 'openai',
      maxAttempts: 2,
      timeoutMs: 20_000,
      concurrency: 8,
    })),
    labels,
    pool: poolFile,
    retrieval: { k: 5 },
    cache: { enabled: false },
    concurrency: 8,
  };
}

interface Bias {
  /** Share of classification example items answered none, and of query items that are no gold entity. */
  classifyExamplesNone: number;
  classifyQueriesNone: number;
  verifyExamplesNo: number;
  verifyQueriesNo: number;
  /** Share of extraction prompts with an entity-free example. */
  extractWithEmptyExample: number;
}

/** Compares what the examples teach with what the queries ask, over the requests a run made. */
function bias(requests: readonly ScriptedRequest[]): Bias {
  const byText = goldByText(dev);
  const c = {
    exItems: 0,
    exNone: 0,
    qItems: 0,
    qNone: 0,
    vexItems: 0,
    vexNo: 0,
    vqItems: 0,
    vqNo: 0,
    ext: 0,
    extEmpty: 0,
  };
  for (const r of requests) {
    if (r.messages.some((m) => m.role === 'assistant')) continue;
    const kind = schemaName(r);
    const user = r.messages.find((m) => m.role === 'user')?.content ?? '';
    const examples = user.slice(0, user.lastIndexOf('Sentence: '));
    // the earlier layout: one JSON answer per example, in the stage's own shape
    const answers = [...examples.matchAll(/^Answer: (\{.*\})$/gm)].map((m) => JSON.parse(m[1]));
    // the prefix-cache layout: stage-neutral examples, `=> entities | not: spans | not TYPE: span`
    const neutral = [...user.matchAll(/^=> (.*)$/gm)].map((m) => neutralExample(m[1]));
    const p = parsePrompt(r.messages, kind);
    const gold = goldOf(byText, p.sentence);
    const isGold = (it: (typeof p.items)[number], type?: string) => {
      const at = locateItem(p.sentence, it);
      return gold.some(
        (g) => at && g.start === at.start && g.end === at.end && (type === undefined || g.type === type),
      );
    };
    for (const ex of neutral) {
      if (kind === 'types') {
        c.exItems += ex.entities + ex.notEntities;
        c.exNone += ex.notEntities;
      } else if (kind === 'verdicts') {
        // for the check step a non-entity is a "no" under any type, as a wrong type is
        c.vexItems += ex.entities + ex.wrongTypes + ex.notEntities;
        c.vexNo += ex.wrongTypes + ex.notEntities;
      }
    }
    if (kind === 'spans' && neutral.some((ex) => ex.entities === 0)) c.extEmpty++;
    if (kind === 'types') {
      for (const a of answers)
        for (const x of a.answers) {
          c.exItems++;
          if (x.type === 'none') c.exNone++;
        }
      for (const it of p.items) {
        c.qItems++;
        if (!isGold(it)) c.qNone++;
      }
    } else if (kind === 'verdicts') {
      for (const a of answers)
        for (const x of a.answers) {
          c.vexItems++;
          if (x.answer === 'no') c.vexNo++;
        }
      for (const it of p.items) {
        c.vqItems++;
        if (!isGold(it, it.type)) c.vqNo++;
      }
    } else if (kind === 'spans') {
      c.ext++;
      if (answers.some((a) => Array.isArray(a.spans) && a.spans.length === 0)) c.extEmpty++;
    }
  }
  const share = (a: number, b: number) => (b ? a / b : 0);
  return {
    classifyExamplesNone: share(c.exNone, c.exItems),
    classifyQueriesNone: share(c.qNone, c.qItems),
    verifyExamplesNo: share(c.vexNo, c.vexItems),
    verifyQueriesNo: share(c.vqNo, c.vqItems),
    extractWithEmptyExample: share(c.extEmpty, c.ext),
  };
}

/** Counts of one stage-neutral example line (after "=> "): its entities, non-entities and wrong types. */
function neutralExample(line: string): { entities: number; notEntities: number; wrongTypes: number } {
  const parts = line.split(' | ');
  const count = (part: string) => part.split('; ').filter((x) => x.trim() !== '').length;
  const out = { entities: parts[0] === 'none' ? 0 : count(parts[0]), notEntities: 0, wrongTypes: 0 };
  for (const p of parts.slice(1)) {
    if (p.startsWith('not: ')) out.notEntities += count(p.slice(5));
    else if (/^not [^:]+: /.test(p)) out.wrongTypes += count(p.replace(/^not [^:]+: /, ''));
  }
  return out;
}

interface Row {
  code: string;
  setup: string;
  rate: number;
  f1?: number;
  outcome: string;
  reasksPer100: number;
  promptTokensPerSentence?: number;
  bias: Bias;
  misbehaved: number;
}

async function runHere(setup: string, models: readonly string[], r: number): Promise<Row> {
  const server = await startSmallModelServer({ gold: dev, rate: r });
  try {
    const method = await createMethod(config(server.url, models), { noCache: true, log: () => {} });
    const report = (await method.evaluate(dev)).details as PipelineReport;
    await method.close();
    return {
      code: 'after',
      setup,
      rate: r,
      f1: report.final.micro.f1,
      outcome: `ok; documents with warnings: ${JSON.stringify(report.answers.documentsWithWarnings)}`,
      reasksPer100: (100 * server.stats.reasks) / dev.length,
      promptTokensPerSentence: report.cost.perSentence.promptTokens,
      bias: bias(server.requests),
      misbehaved: Object.values(server.stats.misbehaved).reduce((a, b) => a + (b ?? 0), 0),
    };
  } finally {
    await server.close();
  }
}

function runCli(dir: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(dir, 'bin/el4ner.js'), ...args], {
      cwd: tmp,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function runBefore(dir: string, setup: string, models: readonly string[], r: number): Promise<Row> {
  const server: SmallModelServer = await startSmallModelServer({ gold: dev, rate: r });
  try {
    const cfgFile = path.join(tmp, `before-${models.length}-${r}.json`);
    const reportFile = path.join(tmp, `before-${models.length}-${r}-report.json`);
    writeFileSync(cfgFile, JSON.stringify(config(server.url, models)));
    const res = await runCli(dir, [
      'eval',
      '--config',
      cfgFile,
      '--test',
      devFile,
      '--report',
      reportFile,
      '--no-cache',
    ]);
    let f1: number | undefined;
    let promptTokens: number | undefined;
    let outcome = `exit ${res.code}`;
    if (res.code === 0) {
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as PipelineReport;
      f1 = report.final.micro.f1;
      promptTokens = report.cost.perSentence.promptTokens;
      outcome = 'ok';
    } else {
      const line = res.stderr.split('\n').find((l) => /error|failed|no engine/i.test(l)) ?? '';
      outcome = `run aborted (exit ${res.code}) after ${server.stats.answers} answers: ${line.slice(0, 160)}`;
    }
    return {
      code: 'before',
      setup,
      rate: r,
      f1,
      outcome,
      reasksPer100: (100 * server.stats.reasks) / dev.length,
      promptTokensPerSentence: promptTokens,
      bias: bias(server.requests),
      misbehaved: Object.values(server.stats.misbehaved).reduce((a, b) => a + (b ?? 0), 0),
    };
  } finally {
    await server.close();
  }
}

const rows: Row[] = [];
for (const [setup, models] of Object.entries(setups)) {
  for (const r of [0, rate]) {
    if (before) rows.push(await runBefore(before, setup, models, r));
    rows.push(await runHere(setup, models, r));
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log(
  `${dev.length} CoNLL-2003 dev sentences, pool of ${pool.length} train sentences, k = 5, misbehaving share ${rate}\n`,
);
console.log('| code | setup | misbehaving | F1 | F1 / clean F1 | re-asks per 100 sentences | outcome |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) {
  const clean = rows.find((x) => x.code === row.code && x.setup === row.setup && x.rate === 0)?.f1;
  const ratio = row.f1 !== undefined && clean ? (row.f1 / clean).toFixed(3) : '-';
  console.log(
    `| ${row.code} | ${row.setup} | ${pct(row.rate)} (${row.misbehaved} answers) | ${row.f1 !== undefined ? row.f1.toFixed(4) : '-'} | ${ratio} | ${row.reasksPer100.toFixed(1)} | ${row.outcome} |`,
  );
}
console.log('\nWhat the demonstrations teach against what the queries ask (clean runs):\n');
console.log(
  '| code | setup | classify examples: none | classify queries: not an entity | verify examples: no | verify queries: wrong | extraction prompts with an entity-free example | prompt tokens per sentence |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows.filter((x) => x.rate === 0)) {
  const b = row.bias;
  console.log(
    `| ${row.code} | ${row.setup} | ${pct(b.classifyExamplesNone)} | ${pct(b.classifyQueriesNone)} | ${pct(b.verifyExamplesNo)} | ${pct(b.verifyQueriesNo)} | ${pct(b.extractWithEmptyExample)} | ${row.promptTokensPerSentence?.toFixed(0) ?? '-'} |`,
  );
}

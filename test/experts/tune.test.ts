/**
 * `el4ner tune` over the real scripted HTTP server: backbones of known quality on 10 CoNLL-2003
 * dev sentences. c types every entity MISC and accepts everything as verifier, b does so on odd
 * sentences only, a is perfect (its verifier accepts exactly gold). Default: backbones c, b, a,
 * verifier c (the first backbone). The sample is split: 5 sentences to choose on, 5 held out.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createEngines } from '../../src/engines/registry.js';
import { CallBudget, cachePeek, guardEngines } from '../../src/experts/budget.js';
import { splitDev, tune } from '../../src/experts/tune.js';
import { pipelineFor } from '../support/method.js';
import { parsePrompt } from '../support/oracle.js';
import { schemaName } from '../support/oracle-server.js';
import { type ScriptedServer, scriptByModel, startScriptedServer } from '../support/scripted-server.js';
import { cleanSample, dataDir, openaiModel, oracleHandler, readJsonl, repoRoot } from './helpers.js';

const run = promisify(execFile);
const dev = cleanSample(readJsonl(path.join(dataDir, 'conll2003/dev.jsonl')), 10);
const indexOf = new Map(dev.map((d, i) => [d.text, i]));
const odd = (s: string) => (indexOf.get(s) ?? 0) % 2 === 1;
const yes = () => true;

describe('el4ner tune', () => {
  let server: ScriptedServer;
  let dir: string;
  let raw: Record<string, unknown>;
  before(async () => {
    server = await startScriptedServer({
      chat: scriptByModel({
        c: oracleHandler(dev, { classify: (_s, gt) => (gt ? 'MISC' : 'none'), verify: yes }),
        b: oracleHandler(dev, {
          classify: (_s, gt, s) => (gt ? (odd(s) ? 'MISC' : gt) : 'none'),
          verify: yes,
        }),
        a: oracleHandler(dev, {}),
      }),
    });
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-tune-'));
    writeFileSync(path.join(dir, 'dev.jsonl'), dev.map((d) => `${JSON.stringify(d)}\n`).join(''));
    const pool = readJsonl(path.join(dataDir, 'conll2003/train.jsonl')).slice(0, 50);
    writeFileSync(path.join(dir, 'pool.jsonl'), pool.map((d) => `${JSON.stringify(d)}\n`).join(''));
    raw = {
      models: ['c', 'b', 'a'].map((n) => openaiModel(server.url, n)),
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      cache: { path: 'cache/responses.sqlite' },
      concurrency: 4,
    };
    writeFileSync(path.join(dir, 'el4ner.yaml'), JSON.stringify(raw));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function devF1(config: Config, docs = dev): Promise<number> {
    const engines = await createEngines(config, { noCache: true });
    const p = await pipelineFor({ config, engines, log: () => {} });
    try {
      return (await p.evaluate(docs)).final.micro.f1;
    } finally {
      await p.close();
      await engines.close();
    }
  }

  async function tuneWith(budget: number, opts: { cache: 'real' | 'none' | 'claimed' }) {
    const config = parseConfig(raw);
    const engines = await createEngines(config, {
      noCache: opts.cache !== 'real',
      cachePath: opts.cache === 'real' ? path.join(dir, `cache-${budget}.sqlite`) : undefined,
    });
    const before = server.requests.length;
    try {
      const result = await tune({
        config,
        dev,
        budget: new CallBudget(budget, engines.ledger),
        engines: engines.engines,
        ledger: engines.ledger,
        cache: opts.cache !== 'none',
        isCached: cachePeek(config, engines.cache, engines.engines),
      });
      return { result, requests: server.requests.length - before };
    } finally {
      await engines.close();
    }
  }

  it('the budget guard lets exactly the budget through, even with requests in flight', async () => {
    const config = parseConfig(raw);
    const engines = await createEngines(config, { noCache: true });
    const budget = new CallBudget(5, engines.ledger);
    const guarded = guardEngines(engines.engines, budget);
    const before = server.requests.length;
    const ask = (i: number) =>
      guarded.get('a')!.chat({ messages: [{ role: 'user', content: `Sentence: x${i}` }], stage: 't' });
    const settled = await Promise.allSettled(Array.from({ length: 9 }, (_, i) => ask(i)));
    await engines.close();
    // the server cannot answer these prompts (500): failed calls still count as calls
    const refused = settled.filter(
      (s) => s.status === 'rejected' && (s.reason as Error).name === 'BudgetExhausted',
    );
    assert.equal(refused.length, 4);
    assert.equal(server.requests.length - before, 5);
    assert.equal(budget.refused, 4);
    assert.equal(budget.remaining, 0);
  });

  it('the CLI never exceeds the budget, reports on the held-out half and writes a config that loads and beats the default', async () => {
    const before = server.requests.length;
    const budget = 3000;
    const out = path.join(dir, 'tuned', 'tuned.yaml');
    // with a demonstration pool (span-level retrieval, k 5): pre-extraction adds 3 calls a sentence
    writeFileSync(path.join(dir, 'el4ner-pool.yaml'), JSON.stringify({ ...raw, pool: 'pool.jsonl' }));
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(out), { recursive: true });
    const { stdout } = await run(
      process.execPath,
      [
        path.join(repoRoot, 'bin/el4ner.js'),
        'tune',
        '--config',
        path.join(dir, 'el4ner-pool.yaml'),
        '--dev',
        path.join(dir, 'dev.jsonl'),
        '--budget',
        String(budget),
        '--sample',
        '10',
        '--out',
        out,
        '--report',
        path.join(dir, 'tune-report.json'),
      ],
      { cwd: repoRoot },
    );
    const requests = server.requests.length - before;
    assert.ok(requests <= budget, `${requests} requests for a budget of ${budget}`);
    const report = JSON.parse(readFileSync(path.join(dir, 'tune-report.json'), 'utf8'));
    assert.equal(report.callsUsed, requests);
    assert.deepEqual(report.split, { choose: 5, heldOut: 5, seed: 13 });
    assert.equal(report.candidates[0].step, 'default');
    assert.equal(report.candidates[0].settings.verifier, 'c');
    // no span is contested (every backbone extracts gold), so selective verification asks nothing
    assert.equal(report.candidates[0].calls, 45, '5 sentences x (3 + 3 + 3)');
    const ks = report.candidates.filter((c: { step: string }) => c.step === 'k');
    assert.deepEqual(
      ks.map((c: { settings: { k: number } }) => c.settings.k),
      [0, 1, 2, 3, 8, 12, 16],
    );
    // 5 rules x 4 policies, less the two already run: the default itself, and no verification (the verifier step)
    assert.equal(report.candidates.filter((c: { step: string }) => c.step === 'decision').length, 18);
    assert.equal(report.candidates.filter((c: { step: string }) => c.step === 'calibration').length, 1);
    assert.match(stdout, /held out \(5 sentences\): default F1 [\d.]+, best candidate F1 [\d.]+/);
    assert.match(stdout, /chosen: /);
    const tuned = loadConfig(out);
    // the relative cache path was rebased onto the new file's folder
    assert.equal(tuned.cache.path, path.join(dir, 'cache/responses.sqlite'));
    assert.equal(tuned.stages.classification, 'weighted-vote');
    assert.equal(tuned.pool, path.join(dir, 'pool.jsonl'));
    const { heldOut } = splitDev(dev, 0.5, 13);
    const defaultF1 = await devF1(loadConfig(path.join(dir, 'el4ner-pool.yaml')), heldOut);
    const tunedF1 = await devF1(tuned, heldOut);
    assert.equal(report.heldOut.default.f1, defaultF1);
    assert.equal(report.heldOut.best.f1, tunedF1);
    assert.equal(tunedF1, 1);
    assert.ok(defaultF1 < 1);
  });

  it('a tight budget: the default is evaluated, candidates that would not fit are skipped', async () => {
    // default on the 5 sentences chosen on: 5 x (3 extract + 3 classify) = 30 calls (nothing to verify)
    const { result, requests } = await tuneWith(40, { cache: 'real' });
    assert.ok(requests <= 40, `${requests} requests`);
    assert.equal(result.candidates[0].status, 'evaluated');
    assert.equal(result.candidates[0].calls, 30);
    const skipped = result.candidates.filter((c) => c.status === 'skipped');
    assert.ok(skipped.length > 0);
    for (const c of skipped) assert.match(c.note ?? '', /^estimated \d+ calls, \d+ left$/);
    // dropping a backbone needs 5 x (2 + 2 + 1 verification at most) = 25 calls: more than what is left
    assert.equal(result.candidates[1].step, 'backbones');
    assert.equal(result.candidates[1].status, 'skipped');
    assert.equal(result.candidates[1].estimate, 25);
    assert.ok(result.callsUsed <= 40);
  });

  it('a budget below the default: nothing runs, the default is kept', async () => {
    // the default's estimate: 5 x (3 + 3 + 1) = 35
    const { result, requests } = await tuneWith(30, { cache: 'real' });
    assert.equal(requests, 0);
    assert.equal(result.best, null);
    assert.deepEqual(result.chosen.backbones, ['c', 'b', 'a']);
    assert.match(result.notes.join('\n'), /could not be evaluated/);
  });

  it('stops mid-candidate when the ledger reaches the budget (estimates too low without a cache)', async () => {
    // claiming a cache that is not there makes the repeated candidates cost far more than estimated
    const { result, requests } = await tuneWith(100, { cache: 'claimed' });
    assert.ok(requests <= 100, `${requests} requests`);
    assert.equal(result.callsUsed, requests);
    const incomplete = result.candidates.filter((c) => c.status === 'incomplete');
    assert.ok(incomplete.length > 0);
    assert.ok(incomplete[0].refused! > 0);
    assert.ok(
      result.best === null || result.best.status === 'evaluated',
      'an incomplete candidate is never chosen',
    );
  });
});

describe('el4ner tune, held-out guard', () => {
  // x, y, z extract gold and the first word; x and y type the first word none, z types it MISC
  // (so it is a contested candidate, and dropping a backbone does not help). As verifiers
  // (policy all): x accepts everything on the sentences chosen on and exactly gold on the held-out
  // ones; y is exactly gold on the sentences chosen on and says no to everything held out. On the
  // part it chooses on, verifier y looks perfect and beats the default (verifier x); held out it
  // removes everything. The default must come back.
  const sample = cleanSample(readJsonl(path.join(dataDir, 'conll2003/dev.jsonl')), 12).filter(
    (d) => !d.entities.some((e) => e.start === 0),
  );
  const { heldOut } = splitDev(sample, 0.5, 13);
  const held = new Set(heldOut.map((d) => d.text));
  const firstWord = (s: string) => s.split(' ')[0];
  const verdicts = (req: Parameters<ReturnType<typeof oracleHandler>>[0], answer: (i: number) => string) => {
    const p = parsePrompt(req.messages, schemaName(req));
    return { json: { answers: p.items.map((_, i) => ({ id: i + 1, answer: answer(i) })) } };
  };
  let server: ScriptedServer;
  before(async () => {
    const extract = (g: readonly { text: string }[], s: string) => [...g.map((e) => e.text), firstWord(s)];
    const gold = oracleHandler(sample, { extract });
    const spurious = oracleHandler(sample, {
      extract,
      classify: (span, gt, s) => gt ?? (span === firstWord(s) ? 'MISC' : 'none'),
    });
    const isVerify = (req: Parameters<typeof gold>[0]) => schemaName(req) === 'verdicts';
    const sentenceOf = (req: Parameters<typeof gold>[0]) => parsePrompt(req.messages, 'verdicts').sentence;
    server = await startScriptedServer({
      chat: scriptByModel({
        x: (req) => (isVerify(req) && !held.has(sentenceOf(req)) ? verdicts(req, () => 'yes') : gold(req)),
        y: (req) => (isVerify(req) && held.has(sentenceOf(req)) ? verdicts(req, () => 'no') : gold(req)),
        z: spurious,
      }),
    });
  });
  after(async () => {
    await server.close();
  });

  it('a choice that scores below the default on the held-out part is not returned', async () => {
    const config = parseConfig({
      models: ['x', 'y', 'z'].map((n) => openaiModel(server.url, n)),
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      cache: { enabled: false },
      decision: { rule: 'entity-then-type', threshold: 0 },
      verification: { policy: 'all' },
      stages: { retrieval: 'none' },
    });
    const engines = await createEngines(config, { noCache: true });
    try {
      const result = await tune({
        config,
        dev: sample,
        budget: new CallBudget(100_000, engines.ledger),
        engines: engines.engines,
        ledger: engines.ledger,
        cache: false,
      });
      assert.equal(result.split.heldOut, heldOut.length);
      assert.ok(
        result.best && result.best.f1! > result.defaultF1!,
        'something beat the default on the part chosen on',
      );
      assert.ok(result.heldOut.best!.f1 < result.heldOut.default!.f1);
      assert.deepEqual(result.chosen, result.candidates[0].settings, 'the default came back');
      assert.match(result.notes.join('\n'), /below the default's .*: the default is kept/);
    } finally {
      await engines.close();
    }
  });
});

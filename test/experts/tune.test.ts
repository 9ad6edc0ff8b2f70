/**
 * `el4ner tune` over the real scripted HTTP server: backbones of known quality on 10 CoNLL-2003
 * dev sentences. c types every entity MISC and accepts everything as verifier, b does so on odd
 * sentences only, a is perfect (its verifier accepts exactly gold). Default: backbones c, b, a,
 * verifier c (the first backbone).
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
import { tune } from '../../src/experts/tune.js';
import { pipelineFor } from '../support/method.js';
import { type ScriptedServer, scriptByModel, startScriptedServer } from '../support/scripted-server.js';
import { cleanSample, dataDir, f1, openaiModel, oracleHandler, readJsonl, repoRoot } from './helpers.js';

const run = promisify(execFile);
const dev = cleanSample(readJsonl(path.join(dataDir, 'conll2003/dev.jsonl')), 10);
const indexOf = new Map(dev.map((d, i) => [d.text, i]));
const odd = (s: string) => (indexOf.get(s) ?? 0) % 2 === 1;
const yes = () => true;
const oddNonMisc = dev.reduce(
  (a, d, i) => a + (i % 2 === 1 ? d.entities.filter((e) => e.type !== 'MISC').length : 0),
  0,
);
const total = dev.reduce((a, d) => a + d.entities.length, 0);

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

  async function devF1(config: Config): Promise<number> {
    const engines = await createEngines(config, { noCache: true });
    const p = await pipelineFor({ config, engines, log: () => {} });
    try {
      return (await p.evaluate(dev)).final.micro.f1;
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

  it('the CLI never exceeds the budget and writes a config that loads and beats the default', async () => {
    const before = server.requests.length;
    const budget = 600;
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
    assert.equal(report.candidates[0].step, 'default');
    assert.equal(report.candidates[0].settings.verifier, 'c');
    assert.equal(report.candidates[0].calls, 100, '10 sentences x (3 + 3 + 3 + 1)');
    const ks = report.candidates.filter((c: { step: string }) => c.step === 'k');
    assert.deepEqual(
      ks.map((c: { settings: { k: number } }) => c.settings.k),
      [0, 2, 8],
    );
    assert.match(stdout, /chosen: /);
    const tuned = loadConfig(out);
    // the relative cache path was rebased onto the new file's folder
    assert.equal(tuned.cache.path, path.join(dir, 'cache/responses.sqlite'));
    assert.equal(tuned.stages.classification, 'weighted-vote');
    assert.equal(tuned.verifier, 'a');
    assert.equal(tuned.pool, path.join(dir, 'pool.jsonl'));
    const defaultF1 = await devF1(loadConfig(path.join(dir, 'el4ner-pool.yaml')));
    const tunedF1 = await devF1(tuned);
    assert.equal(defaultF1, f1(total - oddNonMisc, oddNonMisc, oddNonMisc));
    assert.equal(report.defaultF1, defaultF1);
    assert.equal(tunedF1, 1);
    assert.equal(report.best.f1, tunedF1);
  });

  it('a tight budget: the default is evaluated, candidates that would not fit are skipped', async () => {
    // default: 10 sentences x (3 extract + 3 classify + 1 verify) = 70 calls
    const { result, requests } = await tuneWith(75, { cache: 'real' });
    assert.equal(requests, 70);
    assert.equal(result.candidates[0].status, 'evaluated');
    assert.equal(result.candidates[0].calls, 70);
    const summary = result.candidates.map((c) => `${c.step}:${c.status}:${c.estimate}:${c.calls}`);
    // dropping a backbone needs 10 x (2 + 2 + 1) = 50 calls, another verifier 10 (the rest is cached);
    // no verification is free: every answer it needs is in the cache
    assert.deepEqual(summary, [
      'default:evaluated:70:70',
      'backbones:skipped:50:0',
      'verifier:skipped:10:0',
      'verifier:skipped:10:0',
      'verifier:evaluated:0:0',
    ]);
    assert.deepEqual(result.chosen, result.candidates[0].settings);
    assert.ok(result.callsUsed <= 75);
  });

  it('a budget below the default: nothing runs, the default is kept', async () => {
    const { result, requests } = await tuneWith(50, { cache: 'real' });
    assert.equal(requests, 0);
    assert.equal(result.best, null);
    assert.deepEqual(result.chosen.backbones, ['c', 'b', 'a']);
    assert.match(result.notes.join('\n'), /could not be evaluated/);
  });

  it('stops mid-candidate when the ledger reaches the budget (estimates too low without a cache)', async () => {
    // claiming a cache that is not there makes the verifier candidates cost 70 instead of 10
    const { result, requests } = await tuneWith(100, { cache: 'claimed' });
    assert.ok(requests <= 100, `${requests} requests`);
    assert.equal(result.callsUsed, requests);
    const incomplete = result.candidates.filter((c) => c.status === 'incomplete');
    assert.ok(incomplete.length > 0);
    assert.ok(incomplete[0].refused! > 0);
    assert.equal(result.best?.id, 0, 'an incomplete candidate is never chosen');
  });
});

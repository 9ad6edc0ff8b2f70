/**
 * `el4ner tune` over the real scripted HTTP server: backbones of known quality on 10 CoNLL-2003
 * dev sentences. c types every entity MISC and accepts everything as verifier, b does so on odd
 * sentences only, a is perfect (its verifier accepts exactly gold). Default: backbones c, b, a,
 * verifier c (the first backbone). The sample is split: 5 sentences to choose on, 5 held out.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { NerDocument } from '../../src/core/types.js';
import { createEngines } from '../../src/engines/registry.js';
import { CallBudget, cachePeek, guardEngines } from '../../src/experts/budget.js';
import { type CandidateRecord, devFolds, splitDev, tune } from '../../src/experts/tune.js';
import { el4nerAsync } from '../support/cli.js';
import { pipelineFor } from '../support/method.js';
import { parsePrompt } from '../support/oracle.js';
import { schemaName } from '../support/oracle-server.js';
import { freePort } from '../support/ports.js';
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

  /** One split (5 sentences to choose on, 5 held out), so the call counts below are per 5 sentences. */
  async function tuneWith(
    budget: number,
    opts: { cache: 'real' | 'none' | 'claimed'; confidence?: number; votes?: 'hard' | 'soft' },
  ) {
    const config = parseConfig(opts.votes ? { ...raw, decision: { votes: opts.votes } } : raw);
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
        folds: 1,
        ...(opts.confidence !== undefined ? { confidence: opts.confidence } : {}),
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

  it('the CLI never exceeds the budget, cross-validates its choice and writes a config that loads and beats the default', async () => {
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
    // cross-validated (the default, 2 folds): the search chooses on all 10 sentences
    assert.deepEqual(report.split, { choose: 10, heldOut: 10, seed: 13, folds: 2 });
    assert.equal(report.candidates[0].step, 'default');
    assert.equal(report.candidates[0].settings.verifier, 'c');
    // no span is contested (every backbone extracts gold), so selective verification asks nothing
    assert.equal(report.candidates[0].calls, 90, '10 sentences x (3 + 3 + 3)');
    const ks = report.candidates.filter((c: { step: string }) => c.step === 'k');
    assert.deepEqual(
      ks.map((c: { settings: { k: number } }) => c.settings.k),
      [0, 1, 2, 3, 8, 12, 16],
    );
    // the search starts from the strict majority (2 of 3) and drops c, then b (a alone is perfect):
    // 6 rules for one backbone (hard vote, 4 entity-then-type, 1 type-vote) x 4 policies, less the
    // two already run (verification off from the backbones step, verifier a from the verifier step)
    assert.deepEqual(
      report.candidates
        .filter((c: { step: string }) => c.step === 'backbones')
        .map((c: CandidateRecord) => c.settings.backbones),
      [['b', 'a'], ['a']],
    );
    assert.equal(report.candidates.filter((c: { step: string }) => c.step === 'decision').length, 22);
    assert.equal(report.candidates.filter((c: { step: string }) => c.step === 'calibration').length, 1);
    // these servers send no logprobs: one soft-vote candidate finds that out, and no grid follows
    assert.equal(report.candidates.filter((c: { step: string }) => c.step === 'soft-votes').length, 1);
    assert.ok(report.notes.includes('soft votes not tried: the classifiers returned no token logprobs'));
    assert.match(
      stdout,
      /held out \(10 sentences, each scored with the choice of the search that did not see it\): default F1 [\d.]+, best candidate F1 [\d.]+/,
    );
    // each fold's search (on the other 5 sentences) found the perfect backbone too, and its score
    // on the 5 it did not see is what the held-out line pools
    assert.equal(report.folds.length, 2);
    for (const f of report.folds) {
      assert.equal(f.heldOut, 5);
      assert.match(f.chosen, /backbones a, /);
    }
    assert.match(stdout, /chosen: /);
    const tuned = loadConfig(out);
    // the relative cache path was rebased onto the new file's folder
    assert.equal(tuned.cache.path, path.join(dir, 'cache/responses.sqlite'));
    assert.deepEqual(tuned.backbones, ['a'], 'the perfect backbone alone');
    assert.equal(tuned.pool, path.join(dir, 'pool.jsonl'));
    // every sentence is held out once: the pooled default is the default on the whole sample
    const defaultF1 = await devF1(loadConfig(path.join(dir, 'el4ner-pool.yaml')), dev);
    const tunedF1 = await devF1(tuned, dev);
    assert.equal(report.heldOut.default.f1, defaultF1);
    assert.equal(report.heldOut.best.f1, tunedF1);
    assert.equal(tunedF1, 1);
    assert.ok(defaultF1 < 1);
    const folds = devFolds(dev, 2, 13);
    assert.deepEqual(
      folds.map((f) => f.length),
      [5, 5],
    );
    assert.deepEqual(
      folds[0],
      splitDev(dev, 0.5, 13).heldOut,
      'with 2 folds the first is the held-out half of the split',
    );
  });

  it('a gain the paired bootstrap does not confirm changes nothing', async () => {
    // confidence 1: a change must win in every resample; the gains here sit on a few of the five
    // sentences, so a resample without them ties and nothing better is kept
    const strict = (await tuneWith(100_000, { cache: 'real', confidence: 1 })).result;
    const higher = strict.candidates.filter((c) => c.status === 'evaluated' && c.f1! > strict.best!.f1!);
    assert.ok(higher.length > 0, 'some candidate scored higher on the part chosen on');
    for (const c of higher) {
      assert.ok(c.winShare !== undefined && c.winShare < 1, `${c.description}: ${c.winShare}`);
      assert.ok(c.against !== undefined);
    }
    const loose = (await tuneWith(100_000, { cache: 'real', confidence: 0 })).result;
    assert.ok(loose.best!.f1! > strict.best!.f1!, 'any gain is kept at confidence 0');
  });

  it('a tight budget: the default is evaluated, candidates that would not fit are skipped', async () => {
    // default on the 5 sentences chosen on: 5 x (3 extract + 3 classify) = 30 calls (nothing to verify);
    // with hard votes, so that the plain votes reuse its classification answers (soft votes ask
    // for logprobs: another request)
    const { result, requests } = await tuneWith(40, { cache: 'real', votes: 'hard' });
    assert.ok(requests <= 40, `${requests} requests`);
    assert.equal(result.candidates[0].status, 'evaluated');
    assert.equal(result.candidates[0].calls, 30);
    const skipped = result.candidates.filter((c) => c.status === 'skipped');
    assert.ok(skipped.length > 0);
    for (const c of skipped) assert.match(c.note ?? '', /^estimated \d+ calls, \d+ left$/);
    // dropping a backbone from the plain vote needs 5 x (2 + 2) = 20 calls: more than what is left
    // (the plain votes before it reuse the default's cached answers and ask no verifier: free)
    const plain = result.candidates.filter((c) => c.step === 'plain-vote');
    assert.deepEqual(
      plain.map((c) => [c.status, c.estimate, c.calls]),
      [
        ['evaluated', 0, 0],
        ['evaluated', 0, 0],
        ['evaluated', 0, 0],
      ],
    );
    const drop = result.candidates.find((c) => c.step === 'backbones')!;
    assert.equal(drop.status, 'skipped');
    assert.equal(drop.estimate, 20);
    assert.ok(result.callsUsed <= 40);
    // with the default soft votes, the hard plain votes need the classification calls again, once
    // (a budget no other test uses: a cache file of its own, so the calls are really made)
    const soft = (await tuneWith(99_999, { cache: 'real' })).result;
    const plainAfterSoft = soft.candidates.filter((c) => c.step === 'plain-vote');
    assert.deepEqual(
      plainAfterSoft.map((c) => [c.status, c.estimate]),
      [
        ['evaluated', 15],
        ['evaluated', 0],
        ['evaluated', 0],
      ],
    );
    assert.ok(
      plainAfterSoft[0].calls > 0 && plainAfterSoft[0].calls <= 15,
      `${plainAfterSoft[0].calls} calls`,
    );
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

/** `tune` over scripted models x, y, z with retrieval off, every entity verified and no cache. */
async function tuneXyz(url: string, dev: readonly NerDocument[], folds: number) {
  const config = parseConfig({
    models: ['x', 'y', 'z'].map((n) => openaiModel(url, n)),
    labels: ['LOC', 'MISC', 'ORG', 'PER'],
    cache: { enabled: false },
    verification: { policy: 'all' },
    stages: { retrieval: 'none' },
  });
  const engines = await createEngines(config, { noCache: true });
  try {
    return await tune({
      config,
      dev,
      budget: new CallBudget(100_000, engines.ledger),
      engines: engines.engines,
      ledger: engines.ledger,
      cache: false,
      folds,
    });
  } finally {
    await engines.close();
  }
}

describe('el4ner tune, held-out guard', () => {
  // x, y, z extract gold and the first word. z types the first word MISC everywhere; x does so on
  // the held-out sentences only; y never. Every verifier accepts exactly gold. On the part chosen
  // on, the plain vote "at least 2 of 3" is perfect and as good as the default (the default rule
  // with x verifying everything), so the search starts from it, the cheaper decision; held out,
  // x and z make the first word an entity and the plain vote falls below the default, which must
  // come back.
  const sample = cleanSample(readJsonl(path.join(dataDir, 'conll2003/dev.jsonl')), 12).filter(
    (d) => !d.entities.some((e) => e.start === 0),
  );
  const { heldOut } = splitDev(sample, 0.5, 13);
  const held = new Set(heldOut.map((d) => d.text));
  const firstWord = (s: string) => s.split(' ')[0];
  let server: ScriptedServer;
  before(async () => {
    const extract = (g: readonly { text: string }[], s: string) => [...g.map((e) => e.text), firstWord(s)];
    const firstWordMisc = (when: (s: string) => boolean) =>
      oracleHandler(sample, {
        extract,
        classify: (span, gt, s) => gt ?? (span === firstWord(s) && when(s) ? 'MISC' : 'none'),
      });
    server = await startScriptedServer({
      chat: scriptByModel({
        x: firstWordMisc((s) => held.has(s)),
        y: oracleHandler(sample, { extract }),
        z: firstWordMisc(() => true),
      }),
    });
  });
  after(async () => {
    await server.close();
  });

  it('a choice that scores below the default on the held-out part is not returned', async () => {
    const result = await tuneXyz(server.url, sample, 1);
    assert.equal(result.split.heldOut, heldOut.length);
    assert.equal(result.defaultF1, 1);
    assert.equal(result.best?.step, 'plain-vote');
    assert.equal(result.best?.f1, 1);
    assert.match(result.best?.description ?? '', /verification off, .*type-vote \(at least 2 of 3\)/);
    assert.match(result.notes.join('\n'), /starts from the plain vote/);
    const weighted = result.candidates.find((c) => c.step === 'weights');
    assert.equal(weighted?.status, 'evaluated', 'three backbones stay, so weighted voting is tried');
    assert.ok(weighted!.settings.weights?.x, 'with a weight per voter and type');
    assert.ok(result.heldOut.best!.f1 < result.heldOut.default!.f1);
    assert.deepEqual(result.chosen, result.candidates[0].settings, 'the default came back');
    assert.match(result.notes.join('\n'), /below the default's [\d.]+\nthe default is kept/);
  });
});

describe('el4ner tune, back-off to the plain vote', () => {
  // x and z type the first word MISC, y does not and also says none to the last gold entity of
  // each sentence; so the plain vote (and the default, whose verifier x accepts everything) keep a
  // spurious entity per sentence. As verifier, y is exactly gold on the sentences chosen on and
  // says no to everything held out: the search takes it (a clear gain there), the held-out part
  // rejects it, and tune returns where the search started, the plain vote, which scores as well as
  // the default there.
  const sample = cleanSample(readJsonl(path.join(dataDir, 'conll2003/dev.jsonl')), 12).filter(
    (d) => !d.entities.some((e) => e.start === 0) && d.entities.length > 1,
  );
  const { heldOut } = splitDev(sample, 0.5, 13);
  const held = new Set(heldOut.map((d) => d.text));
  const lastEntity = new Map(sample.map((d) => [d.text, d.entities[d.entities.length - 1].text]));
  const firstWord = (s: string) => s.split(' ')[0];
  let server: ScriptedServer;
  before(async () => {
    const extract = (g: readonly { text: string }[], s: string) => [...g.map((e) => e.text), firstWord(s)];
    const misc = oracleHandler(sample, {
      extract,
      classify: (span, gt, s) => gt ?? (span === firstWord(s) ? 'MISC' : 'none'),
      verify: () => true,
    });
    const y = oracleHandler(sample, {
      extract,
      classify: (span, gt, s) => (gt && span !== lastEntity.get(s) ? gt : 'none'),
    });
    server = await startScriptedServer({
      chat: scriptByModel({
        x: misc,
        y: (req) => {
          if (schemaName(req) !== 'verdicts') return y(req);
          const p = parsePrompt(req.messages, 'verdicts');
          if (!held.has(p.sentence)) return y(req);
          return { json: { answers: p.items.map((_, i) => ({ id: i + 1, answer: 'no' })) } };
        },
        z: misc,
      }),
    });
  });
  after(async () => {
    await server.close();
  });

  it('a choice that fails the held-out part gives way to the plain vote when that holds up', async () => {
    const result = await tuneXyz(server.url, sample, 1);
    assert.match(result.notes.join('\n'), /starts from the plain vote/);
    assert.equal(result.best?.settings.verifier, 'y');
    assert.ok(result.best!.winShare! >= 0.9);
    assert.ok(result.heldOut.best!.f1 < result.heldOut.default!.f1);
    assert.ok(result.heldOut.start && result.heldOut.start.f1 >= result.heldOut.default!.f1);
    const start = result.candidates.find((c) => c.step === 'plain-vote' && c.id === result.best!.against);
    assert.ok(start, 'the best was compared with the plain vote it started from');
    assert.deepEqual(result.chosen, start.settings);
    assert.match(result.notes.join('\n'), /starting point .* it is returned/);
  });

  it('cross-validated: a search whose choice fails a fold it did not see gives way to the plain vote', async () => {
    // fold 1 is the held-out half above: the search on the other fold takes verifier y, which says
    // no to everything on fold 1; the search on fold 1 takes another choice, which holds up.
    const result = await tuneXyz(server.url, sample, 2);
    assert.deepEqual(result.split, { choose: sample.length, heldOut: sample.length, seed: 13, folds: 2 });
    const [f1, f2] = result.folds!;
    assert.match(f1.chosen, /verifier y/);
    assert.equal(f1.best!.tp, 0, 'y rejects every entity of the fold it did not see');
    assert.ok(f2.best!.f1 >= f2.default!.f1);
    // pooled: the counts of both folds, each scored with the other fold's choice
    assert.equal(result.heldOut.best!.tp, f1.best!.tp + f2.best!.tp);
    assert.equal(result.heldOut.default!.tp, f1.default!.tp + f2.default!.tp);
    assert.ok(result.heldOut.best!.f1 < result.heldOut.default!.f1);
    // so the search on all sentences is not trusted: its start (the plain vote) held up and comes back
    assert.notDeepEqual(result.chosen, result.best!.settings);
    assert.ok(result.heldOut.start!.f1 >= result.heldOut.default!.f1);
    const start = result.candidates.find((c) => c.step === 'plain-vote' && c.settings.threshold === 0.5)!;
    assert.deepEqual(result.chosen, start.settings);
    assert.match(result.notes.join('\n'), /starting point .* it is returned/);
  });
});

describe('el4ner tune, no model answering', () => {
  it("exits 4 with the models' error instead of blaming the budget, and writes no tuned config", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'el4ner-tune-down-'));
    try {
      const port = await freePort();
      const config = path.join(dir, 'el4ner.yaml');
      writeFileSync(
        config,
        JSON.stringify({
          models: ['a', 'b'].map((n) => openaiModel(`http://127.0.0.1:${port}/v1`, n)),
          labels: ['LOC', 'MISC', 'ORG', 'PER'],
          cache: { enabled: false },
        }),
      );
      writeFileSync(path.join(dir, 'dev.jsonl'), dev.map((d) => `${JSON.stringify(d)}\n`).join(''));
      const out = path.join(dir, 'tuned.yaml');
      const r = await el4nerAsync([
        'tune',
        ...['--config', config, '--dev', path.join(dir, 'dev.jsonl'), '--budget', '500', '--out', out],
      ]);
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /el4ner: no engine answered for document/);
      assert.doesNotMatch(r.stderr, /within the budget/);
      assert.ok(!existsSync(out));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

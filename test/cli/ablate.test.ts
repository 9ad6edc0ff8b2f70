/**
 * `el4ner ablate` end to end: the CLI over the EL4NER replay harness (three real CRF taggers on
 * real HTTP), a small pool and 40 WNUT-17 dev sentences. Each row switches exactly its stage (seen
 * in the calls per stage), and a second run over the warm response cache gives the same table
 * without sending a request.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { AblationResult } from '../../src/el4ner/ablation.js';
import { readJsonlDocuments } from '../../src/slm/data.js';
import { startEl4nerReplayServer } from '../support/el4ner-replay-server.js';
import { ensureSystems, repoRoot, sharedData } from '../support/replay-systems.js';
import type { ScriptedServer } from '../support/scripted-server.js';

const run = promisify(execFile);
const N = 40;

describe('el4ner ablate', () => {
  let server: ScriptedServer;
  let dir: string;
  before(async () => {
    const systems = (await ensureSystems('wnut17')).slice(0, 3);
    server = await startEl4nerReplayServer(systems);
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-ablate-'));
    const train = (await readJsonlDocuments(path.join(sharedData, 'wnut17/train.jsonl'))).slice(0, 200);
    writeFileSync(path.join(dir, 'pool.jsonl'), train.map((d) => `${JSON.stringify(d)}\n`).join(''));
    writeFileSync(
      path.join(dir, 'el4ner.yaml'),
      JSON.stringify({
        models: systems.map((s) => ({
          name: s.name,
          engine: 'openai',
          baseUrl: server.url,
          model: s.name,
          maxAttempts: 1,
        })),
        pool: 'pool.jsonl',
        retrieval: { k: 3 },
        cache: { path: 'cache/responses.sqlite' },
      }),
    );
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ablate = (out: string) =>
    run(
      process.execPath,
      [
        path.join(repoRoot, 'bin/el4ner.js'),
        'ablate',
        '--config',
        path.join(dir, 'el4ner.yaml'),
        '--test',
        path.join(sharedData, 'wnut17/dev.jsonl'),
        '--limit',
        String(N),
        '--out',
        path.join(dir, out),
      ],
      { cwd: dir },
    );

  it('writes the paper rows with P/R/F1 and per-stage cost; a warm cache gives the same table for free', async () => {
    await ablate('first');
    const first = JSON.parse(readFileSync(path.join(dir, 'first.json'), 'utf8')) as {
      rows: AblationResult[];
    };
    assert.deepEqual(
      first.rows.map((r) => r.row),
      [
        'full',
        'sentence-retrieval',
        'no-retrieval',
        'single-extraction',
        'single-classification',
        'no-verification',
        'no-decomposition',
      ],
    );
    const by = Object.fromEntries(first.rows.map((r) => [r.row, r]));
    const stages = (r: AblationResult) => r.usage.byStage;
    assert.equal(stages(by.full).retrieval.calls, 3 * N, 'span-level retrieval: every backbone pre-extracts');
    assert.equal(stages(by.full).extract.calls, 3 * N);
    assert.equal(stages(by['sentence-retrieval']).retrieval, undefined);
    assert.equal(stages(by['no-retrieval']).retrieval, undefined);
    assert.equal(stages(by['single-extraction']).extract.calls, N);
    assert.ok(stages(by['single-classification']).classify.calls <= N);
    assert.equal(stages(by['no-verification']).verify, undefined);
    assert.equal(stages(by['no-decomposition']).joint.calls, 3 * N);
    assert.equal(stages(by['no-decomposition']).extract, undefined);
    for (const r of first.rows) {
      assert.ok(r.f1 > 0 && r.f1 <= 1, r.row);
      assert.ok(Math.abs(r.perSentence.calls - r.usage.calls / N) < 1e-9);
      assert.ok(r.perSentence.promptTokens > 0);
    }
    // the replayed systems ignore demonstrations: the retrieval rows score the same, at other costs
    assert.equal(by['no-retrieval'].f1, by.full.f1);
    assert.ok(by['no-retrieval'].perSentence.calls < by.full.perSentence.calls);
    const md = readFileSync(path.join(dir, 'first.md'), 'utf8');
    assert.match(md, /\| row \| P \| R \| F1 \| ΔF1 \| calls \/ sentence \|/);
    assert.equal(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| row')).length, 7 + 1);

    const before = server.requests.length;
    await ablate('second');
    const second = JSON.parse(readFileSync(path.join(dir, 'second.json'), 'utf8')) as {
      rows: AblationResult[];
    };
    assert.equal(server.requests.length, before, 'every answer came from the response cache');
    assert.deepEqual(
      second.rows.map((r) => [r.row, r.f1, r.usage.calls, r.requests]),
      first.rows.map((r) => [r.row, r.f1, r.usage.calls, 0]),
    );
  });

  it('refuses an unknown row with the names it knows', async () => {
    await assert.rejects(
      run(process.execPath, [
        path.join(repoRoot, 'bin/el4ner.js'),
        'ablate',
        '--config',
        path.join(dir, 'el4ner.yaml'),
        '--test',
        path.join(sharedData, 'wnut17/dev.jsonl'),
        '--rows',
        'full,no-such-row',
      ]),
      (e: { stderr: string; code: number }) =>
        e.code === 2 && /no row no-such-row; rows are full, /.test(e.stderr),
    );
  });
});

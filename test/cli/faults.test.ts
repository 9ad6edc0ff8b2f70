/**
 * Issue 18 through `el4ner run` (the real CLI in a child process) against the fault server:
 * mixed 30% faults over 100 documents and 3 backbones (every row written, every degraded row
 * marked, the cost table with the failures counted), degraded rows with their exit code, resume
 * and --retry-degraded (defect 3), the cause of an unanswered document and the cost table on
 * abort (5), start-up checks and --no-preflight (12).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { NerDocument } from '../../src/core/types.js';
import { trainCrf } from '../../src/slm/tagger.js';
import { sharedDocs } from '../fusion/helpers.js';
import { jsonl, readRows } from '../support/cli.js';
import { type FaultServer, startFaultServer } from '../support/fault-server.js';
import { goldByText, oracleAnswer } from '../support/oracle.js';
import { readGold, repoRoot, schemaName } from '../support/oracle-server.js';
import { type ScriptedServer, startScriptedServer } from '../support/scripted-server.js';

const cli = path.join(repoRoot, 'bin/el4ner.js');

function el4ner(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const spans = (d: { entities: NerDocument['entities'] }) =>
  d.entities.map((e) => `${e.start}:${e.end}:${e.type}`).join(' ');

describe('el4ner run under faults', () => {
  let dir: string;
  let srv: FaultServer;
  let gold: NerDocument[];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-cli-faults-'));
    gold = readGold('conll2003', 'test', 100);
    const byText = goldByText(gold);
    srv = await startFaultServer({
      healthy: (req) => ({ json: oracleAnswer(byText, {}, req.messages, schemaName(req)) }),
      faults: {},
      slowMs: 300,
      seed: 18,
    });
    writeFileSync(path.join(dir, 'input.jsonl'), jsonl(gold.map((d) => ({ id: d.id, text: d.text }))));
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const model = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    engine: 'openai',
    baseUrl: srv.url,
    model: name,
    server: 'vllm',
    timeoutMs: 1500,
    maxAttempts: 4,
    ...extra,
  });
  const config = (file: string, models: object[], extra: Record<string, unknown> = {}) => {
    writeFileSync(
      path.join(dir, file),
      JSON.stringify({ models, labels: ['LOC', 'MISC', 'ORG', 'PER'], cache: { enabled: false }, ...extra }),
    );
    return file;
  };
  const three = () => config('three.json', [model('a'), model('b'), model('c')]);

  it('mixed 30% faults, 1 MB adversarial answers included, 100 documents, 3 backbones', {
    timeout: 600_000,
  }, async () => {
    srv.setFaults({});
    const clean = path.join(dir, 'clean.jsonl');
    const c = await el4ner(['run', '--config', three(), '--input', 'input.jsonl', '--output', clean], dir);
    assert.equal(c.code, 0, c.stderr);
    const cleanRows = readRows(clean);
    assert.ok(cleanRows.every((r) => !r.degraded));

    srv.setFaults({ '*': { rate: 0.3 } });
    const before = srv.served.length;
    const out = path.join(dir, 'faulty.jsonl');
    const r = await el4ner(['run', '--config', three(), '--input', 'input.jsonl', '--output', out], dir);
    srv.setFaults({});
    const served = srv.served.slice(before);
    assert.ok(
      served.some((s) => s.mode === 'adversarial'),
      'the faults included 1 MB adversarial answers',
    );
    assert.ok(served.filter((s) => s.mode !== 'ok').length > served.length * 0.2);
    assert.ok([0, 8, 9].includes(r.code ?? -1), r.stderr);
    const rows = readRows(out);
    assert.deepEqual(
      rows.map((x) => x.id),
      gold.map((d) => d.id),
      'every row written, in input order',
    );
    // nothing degrades silently: a row that differs from the fault-free run is marked
    const byId = new Map(cleanRows.map((x) => [x.id, x]));
    let differing = 0;
    for (const row of rows) {
      const same = spans(row) === spans(byId.get(row.id)!);
      if (!same) differing++;
      if (!same)
        assert.equal(row.degraded, true, `row ${row.id} differs from the clean run but is not marked`);
      if (row.degraded)
        assert.ok(
          row.warnings?.some((w) => w.kind !== 'repaired'),
          `row ${row.id}`,
        );
    }
    const degraded = rows.filter((x) => x.degraded).length;
    assert.equal(r.code, degraded === 0 ? 0 : rows.some((x) => x.error) ? 9 : 8);
    // the cost table counts the failures: unusable answers and retried requests
    const total = /^total\s+(\d+)\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$/m.exec(
      r.stderr,
    );
    assert.ok(total, r.stderr);
    const [calls, failed, requests, unusable] = total.slice(1, 5).map(Number);
    assert.ok(requests > calls, `requests ${requests} > calls ${calls}: retries counted`);
    assert.ok(unusable > 0, 'unusable answers counted');
    assert.ok(failed >= 0);
    process.stderr.write(
      `# mixed 30% faults: ${served.length} requests, ${served.filter((s) => s.mode !== 'ok').length} faults; ${degraded} degraded rows (${differing} differ from the clean run)\n`,
    );
  });

  it('a verifier answering off-schema: rows marked, exit 8, resume says so, --retry-degraded mends them', {
    timeout: 300_000,
  }, async () => {
    const docs = gold.slice(0, 25);
    writeFileSync(path.join(dir, 'small.jsonl'), jsonl(docs.map((d) => ({ id: d.id, text: d.text }))));
    const file = config('verifier.json', [model('a'), model('b'), model('v', { maxAttempts: 1 })], {
      backbones: ['a', 'b'],
      verifier: 'v',
      // the paper's policy: every decided entity goes to the verifier (selective skips unanimous ones)
      verification: { policy: 'all' },
    });
    srv.setFaults({});
    const cleanOut = path.join(dir, 'verifier-clean.jsonl');
    assert.equal(
      (await el4ner(['run', '--config', file, '--input', 'small.jsonl', '--output', cleanOut], dir)).code,
      0,
    );

    srv.setFaults({ v: { rate: 1, modes: ['wrong-schema'] } });
    const out = path.join(dir, 'verifier.jsonl');
    const r = await el4ner(['run', '--config', file, '--input', 'small.jsonl', '--output', out], dir);
    assert.equal(r.code, 8, r.stderr);
    const rows = readRows(out);
    const withEntities = rows.filter((x) => x.entities.length > 0);
    assert.ok(withEntities.length > 10);
    for (const row of withEntities) {
      assert.equal(row.degraded, true, row.id);
      assert.ok(row.warnings?.some((w) => w.kind === 'failed' && w.stage === 'verify' && w.model === 'v'));
    }
    assert.match(r.stderr, /row\(s\) written are degraded/);
    assert.match(
      r.stderr,
      /model v\s+\d+\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+\d+\s+\d+\s+[1-9]/,
      'unusable answers of v counted',
    );

    // a resume keeps them, but not silently
    const again = await el4ner(['run', '--config', file, '--input', 'small.jsonl', '--output', out], dir);
    assert.equal(again.code, 8, again.stderr);
    assert.match(again.stderr, /degraded row\(s\) kept from an earlier run .*--retry-degraded/);

    // the verifier is back: --retry-degraded runs exactly those rows again
    srv.setFaults({});
    const before = srv.requests.length;
    const mend = await el4ner(
      ['run', '--config', file, '--input', 'small.jsonl', '--output', out, '--retry-degraded'],
      dir,
    );
    assert.equal(mend.code, 0, mend.stderr);
    assert.match(mend.stderr, new RegExp(`running the ${withEntities.length} degraded row\\(s\\)`));
    assert.ok(srv.requests.length > before);
    const mended = readRows(out);
    assert.equal(mended.length, docs.length);
    assert.ok(mended.every((x) => !x.degraded));
    const clean = new Map(readRows(cleanOut).map((x) => [x.id, spans(x)]));
    for (const row of mended) assert.equal(spans(row), clean.get(row.id), row.id);
  });
});

describe('el4ner run: why no model answered, start-up checks', () => {
  let dir: string;
  let auth: ScriptedServer;
  let hang: ScriptedServer;
  let ok: ScriptedServer;
  let closedPort: number;
  const gold = readGold('conll2003', 'test', 6);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-cli-causes-'));
    // a port nobody listens on: connection refused
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    auth = await startScriptedServer({
      chat: () => ({ status: 401, errorBody: { error: { message: 'Incorrect API key provided' } } }),
      modelsReply: () => ({ status: 401 }),
    });
    hang = await startScriptedServer({ chat: () => ({ hang: true }) });
    const byText = goldByText(gold);
    ok = await startScriptedServer({
      chat: (req) => ({ json: oracleAnswer(byText, {}, req.messages, schemaName(req)) }),
    });
    writeFileSync(path.join(dir, 'input.jsonl'), jsonl(gold.map((d) => ({ id: d.id, text: d.text }))));
    writeFileSync(
      path.join(dir, 'garbage.gguf'),
      'this is an HTML error page saved as a model file\n'.repeat(50),
    );
    const crf = await trainCrf(sharedDocs('conll2003', 'train', 100), { maxIterations: 10 });
    await crf.save(path.join(dir, 'crf.model'));
  });
  after(async () => {
    await Promise.all([auth.close(), hang.close(), ok.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const http = (name: string, url: string) => ({
    name,
    engine: 'openai',
    baseUrl: url,
    model: name,
    timeoutMs: 2000,
    maxAttempts: 1,
  });
  const write = (file: string, cfg: object) => {
    writeFileSync(
      path.join(dir, file),
      JSON.stringify({ labels: ['LOC', 'MISC', 'ORG', 'PER'], cache: { enabled: false }, ...cfg }),
    );
    return file;
  };
  const causes = () =>
    write('causes.json', {
      models: [
        http('key', auth.url),
        http('refused', `http://127.0.0.1:${closedPort}/v1`),
        http('slow', hang.url),
        { name: 'local', engine: 'llama-cpp', path: path.join(dir, 'missing.gguf') },
      ],
      stages: { verification: false },
    });

  it("without start-up checks, every unanswered row names each model's cause; exit 9", async () => {
    const out = path.join(dir, 'causes.jsonl');
    const r = await el4ner(
      ['run', '--config', causes(), '--input', 'input.jsonl', '--output', out, '--no-preflight'],
      dir,
    );
    assert.equal(r.code, 9, r.stderr);
    const rows = readRows(out);
    assert.equal(rows.length, gold.length);
    for (const row of rows) {
      assert.equal(row.degraded, true);
      assert.deepEqual(row.entities, []);
      const e = String(row.error);
      assert.match(e, /key: HTTP 401 unauthorized/);
      assert.match(e, /refused: connection refused/);
      assert.match(e, /slow: .*timed out after \d+ ms/);
      assert.match(e, /local: .*model file not found/);
    }
    assert.match(r.stderr, /^total\s/m, 'the cost table is printed');
  });

  it('start-up checks name every problem before any document; nothing is written', async () => {
    const out = path.join(dir, 'checked.jsonl');
    const r = await el4ner(['run', '--config', causes(), '--input', 'input.jsonl', '--output', out], dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /start-up checks failed/);
    assert.match(r.stderr, /model key: .*HTTP 401 unauthorized/);
    assert.match(r.stderr, /model refused: .*connection refused/);
    assert.match(r.stderr, /model local: model file not found/);
    assert.ok(!existsSync(out) || readFileSync(out, 'utf8') === '', 'no row written');
    const garbage = write('garbage.json', {
      models: [{ name: 'local', engine: 'llama-cpp', path: 'garbage.gguf' }],
    });
    const g = await el4ner(['run', '--config', garbage, '--input', 'input.jsonl', '--output', out], dir);
    assert.notEqual(g.code, 0);
    assert.match(g.stderr, /model local: not a GGUF file/);
    // the worker runs the same checks before it touches Redis
    const w = await el4ner(['worker', '--config', causes(), '--redis', 'redis://127.0.0.1:9'], dir);
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /start-up checks failed/);
  });

  it('a missing GGUF with a CRF fallback no longer "succeeds": refused at start, degraded rows with --no-preflight', async () => {
    const file = write('fallback.json', {
      models: [{ name: 'local', engine: 'llama-cpp', path: 'missing.gguf' }],
      fusion: { slm: 'crf.model', voter: false },
      stages: { verification: false },
    });
    const out = path.join(dir, 'fallback.jsonl');
    const r = await el4ner(['run', '--config', file, '--input', 'input.jsonl', '--output', out], dir);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /model local: model file not found/);
    const skip = await el4ner(
      ['run', '--config', file, '--input', 'input.jsonl', '--output', out, '--no-preflight'],
      dir,
    );
    assert.equal(skip.code, 8, skip.stderr);
    const rows = readRows(out);
    assert.ok(rows.every((x) => x.degraded && (x.meta as { fallback?: string })?.fallback === 'slm'));
  });

  it('an aborted run prints its cost table too', async () => {
    const file = write('ok.json', { models: [http('a', ok.url)], stages: { verification: false } });
    const r = await el4ner(
      ['run', '--config', file, '--input', 'input.jsonl', '--output', '/dev/full', '--overwrite'],
      dir,
    );
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /stopped after 0 document\(s\) written to \/dev\/full/);
    assert.match(r.stderr, /^model a\s+\d+/m);
    assert.match(r.stderr, /^total\s/m);
  });
});

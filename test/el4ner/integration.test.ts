/**
 * The pipeline and its commands over real HTTP: three scripted OpenAI-compatible backbones whose
 * answers derive from the gold annotations of a CoNLL-2003 slice, each with a known error pattern.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseConfig } from '../../src/config/load.js';
import type { NerDocument } from '../../src/core/types.js';
import type { PipelineReport } from '../../src/el4ner/report.js';
import { createEngines } from '../../src/engines/registry.js';
import { pipelineFor } from '../support/method.js';
import { type Behaviour, goldByText, oracleAnswer } from '../support/oracle.js';
import { type ScriptedServer, scriptByModel, startScriptedServer } from '../support/scripted-server.js';
import { conllDir, PAPER_DECISION, readJsonl, repoRoot } from './helpers.js';

const run = promisify(execFile);
const testFile = path.join(conllDir, 'test.jsonl');
const test = readJsonl(testFile, 30);
const pool = readJsonl(path.join(conllDir, 'train.jsonl'), 200);
const byText = goldByText(test);

// A: every gold span, but types ORG as LOC (outvoted). B: misses PER spans and types every
// non-gold span MISC. C: adds the first word as a spurious span (typed MISC) and a span that is
// not in the text. The verifier (A) accepts only gold (span, type) pairs.
const behaviours: Record<string, Behaviour> = {
  a: { classify: (_s, gt) => (gt === 'ORG' ? 'LOC' : (gt ?? 'none')) },
  b: {
    extract: (g) => g.filter((e) => e.type !== 'PER').map((e) => e.text),
    classify: (_s, gt) => gt ?? 'MISC',
  },
  c: {
    extract: (g, s) => [...g.map((e) => e.text), s.split(' ')[0], 'Xyzzy Corp'],
    classify: (_s, gt) => gt ?? 'MISC',
  },
};

function handler(model: string, fail = false) {
  return (req: {
    messages: Parameters<typeof oracleAnswer>[2];
    body: { response_format?: { json_schema?: { name: string } } };
  }) => {
    if (fail) return { status: 500, errorBody: { error: { message: 'scripted outage' } } };
    return {
      json: oracleAnswer(
        byText,
        behaviours[model],
        req.messages,
        req.body.response_format?.json_schema?.name ?? '',
      ),
    };
  };
}

describe('EL4NER over scripted HTTP backbones', () => {
  let server: ScriptedServer;
  let down: ScriptedServer;
  let dir: string;
  before(async () => {
    server = await startScriptedServer({
      chat: scriptByModel({ a: handler('a'), b: handler('b'), c: handler('c') }),
    });
    down = await startScriptedServer({
      chat: () => ({ status: 500, errorBody: { error: { message: 'scripted outage' } } }),
    });
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-pipeline-'));
    writeFileSync(path.join(dir, 'pool.jsonl'), pool.map((d) => `${JSON.stringify(d)}\n`).join(''));
  });
  after(async () => {
    await server.close();
    await down.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const models = (url: string, names: string[], extra: Record<string, unknown> = {}) =>
    names.map((name) => ({
      name,
      engine: 'openai',
      baseUrl: url,
      model: name,
      server: 'vllm',
      maxAttempts: 2,
      ...extra,
    }));

  it('a backbone answering 500 forever is dropped, the run goes on and the report names it', async () => {
    const config = parseConfig({
      models: [...models(server.url, ['a', 'c']), ...models(down.url, ['b'])],
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      retrieval: { k: 2 },
    });
    const engines = await createEngines(config, { noCache: true, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    const notes: string[] = [];
    const p = await pipelineFor({ config, engines, demos: pool, log: (m) => notes.push(m) });
    const docs = test.slice(0, 6);
    const report = await p.evaluate(docs);
    await p.close();
    await engines.close();
    assert.deepEqual(
      report.failures.map((f) => `${f.model}:${f.stage}:${f.count}`),
      ['b:classify:6', 'b:extract:6', 'b:retrieval:6'],
    );
    assert.match(report.failures[0].lastError, /EngineError|CircuitOpenError/);
    assert.match(report.failures[0].lastError, /HTTP 500/);
    assert.ok(notes.some((n) => /model b failed 6 time\(s\) in stage extract/.test(n)));
    // b's circuit breaker opens after 5 failed calls in a row: the calls after it are refused
    // without a request, and each call that went out made two attempts (maxAttempts 2)
    const b = report.cost.byModel.b;
    assert.equal(b.failedCalls + b.refused, 6 * 3);
    assert.ok(b.failedCalls >= 5 && b.refused > 0, `failed ${b.failedCalls}, refused ${b.refused}`);
    assert.equal(down.requests.length, b.failedCalls * 2);
    assert.equal(b.requests, b.failedCalls * 2);
    // a and c still find every gold entity (c's spurious span is voted down 1:1 -> dropped).
    assert.equal(report.final.micro.r, 1);
  });

  it('`el4ner eval` on a CoNLL slice writes a report with every stage figure', async () => {
    const cfg = path.join(dir, 'el4ner.yaml');
    writeFileSync(
      cfg,
      JSON.stringify({
        models: models(server.url, ['a', 'b', 'c']),
        backbones: ['a', 'b', 'c'],
        verifier: 'a',
        pool: 'pool.jsonl',
        retrieval: { k: 2 },
        cache: { path: 'cache/responses.sqlite' },
        concurrency: 4,
        ...PAPER_DECISION,
      }),
    );
    const reportFile = path.join(dir, 'report.json');
    const r = await run(
      process.execPath,
      [
        path.join(repoRoot, 'bin/el4ner.js'),
        'eval',
        '--config',
        cfg,
        '--test',
        testFile,
        '--limit',
        '30',
        '--report',
        reportFile,
        '--no-cache',
      ],
      { cwd: dir },
    );
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as PipelineReport;
    const goldSpans = test.reduce((a, d) => a + d.entities.length, 0);
    const pers = test.flatMap((d) => d.entities).filter((e) => e.type === 'PER').length;
    assert.equal(report.documents, 30);
    assert.deepEqual(report.models.labels, ['LOC', 'MISC', 'ORG', 'PER']);
    assert.equal(report.extraction.goldSpans, goldSpans);
    assert.equal(report.extraction.unionSpanRecall, 1);
    assert.equal(report.extraction.perModel.a.spanRecall, 1);
    assert.ok(Math.abs(report.extraction.perModel.b.spanRecall - (goldSpans - pers) / goldSpans) < 1e-9);
    assert.ok(report.extraction.perModel.c.spanPrecision < 1);
    assert.equal(report.classification.typingAccuracy, 1, "A's ORG->LOC is outvoted by B and C");
    assert.ok(report.verification.before.p < 1, 'B and C pass the spurious spans as MISC');
    assert.equal(report.verification.after.p, 1, 'the verifier rejects them');
    assert.ok(report.verification.removed > 0);
    assert.equal(report.final.micro.f1, 1);
    assert.ok(report.final.perType.PER.support === pers);
    assert.ok(report.grounding.hallucinated >= 30, 'C names "Xyzzy Corp" in every sentence');
    assert.ok(report.cost.perSentence.calls > 0);
    assert.ok(report.cost.byStage.extract.calls === 90);
    assert.ok(report.cost.byStage.verify.calls > 0);
    assert.ok(report.cost.perSentence.promptTokens > 0);
    assert.match(r.stdout, /union span recall 100\.0%/);
    assert.match(r.stderr, /calls/);

    // With the response cache (config cache.path) a second run answers from it, with the same figures.
    const args = [
      path.join(repoRoot, 'bin/el4ner.js'),
      'eval',
      '--config',
      cfg,
      '--test',
      testFile,
      '--limit',
      '10',
    ];
    const cached = path.join(dir, 'cached.json');
    await run(process.execPath, [...args, '--report', cached], { cwd: dir });
    const first = JSON.parse(readFileSync(cached, 'utf8')) as PipelineReport;
    const seen = server.requests.length;
    await run(process.execPath, [...args, '--report', cached], { cwd: dir });
    const second = JSON.parse(readFileSync(cached, 'utf8')) as PipelineReport;
    assert.equal(server.requests.length, seen, 'no request reached the server');
    assert.equal(second.cost.cache.hits, first.cost.cache.misses);
    assert.deepEqual(second.final, first.final);
  });

  it('`el4ner run` writes JSONL rows with sources, one per document, and skips finished ones on restart', async () => {
    const cfg = path.join(dir, 'run.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        models: models(server.url, ['a', 'b', 'c']),
        labels: ['LOC', 'MISC', 'ORG', 'PER'],
        stages: { verification: false },
      }),
    );
    const input = path.join(dir, 'input.jsonl');
    writeFileSync(
      input,
      test
        .slice(0, 5)
        .map((d) => `${JSON.stringify({ id: d.id, text: d.text })}\n`)
        .join(''),
    );
    const out = path.join(dir, 'out.jsonl');
    const args = [
      path.join(repoRoot, 'bin/el4ner.js'),
      'run',
      '--config',
      cfg,
      '--input',
      input,
      '--output',
      out,
      '--no-cache',
      '--retrieval',
      'none',
    ];
    const r = await run(process.execPath, args, { cwd: dir });
    assert.match(r.stderr, /zero-shot/);
    assert.match(r.stderr, /classify/);
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)) as NerDocument[];
    assert.deepEqual(
      rows.map((x) => x.id),
      test.slice(0, 5).map((d) => d.id),
    );
    for (const [i, row] of rows.entries()) {
      assert.equal(row.text, test[i].text);
      for (const e of row.entities) {
        assert.equal(row.text.slice(e.start, e.end), e.text);
        assert.ok(e.sources?.some((s) => s.stage === 'classify'));
      }
    }
    assert.ok(rows.some((x) => x.entities.length > 0));
    const again = await run(process.execPath, args, { cwd: dir });
    assert.match(again.stderr, /5 document\(s\) already in/);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 5);
  });

  it('`el4ner ensemble` combines prediction files aligned by id', async () => {
    const docs = test.slice(0, 8);
    const write = (name: string, f: (d: NerDocument) => NerDocument['entities']) => {
      const file = path.join(dir, name);
      writeFileSync(
        file,
        docs.map((d) => `${JSON.stringify({ id: d.id, text: d.text, entities: f(d) })}\n`).join(''),
      );
      return file;
    };
    const p1 = write('p1.jsonl', (d) => d.entities);
    const p2 = write('p2.jsonl', (d) => d.entities.filter((e) => e.type !== 'PER'));
    const p3 = write('p3.jsonl', (d) =>
      d.entities.map((e) => ({ ...e, type: e.type === 'LOC' ? 'ORG' : e.type })),
    );
    const out = path.join(dir, 'ens.jsonl');
    const bin = path.join(repoRoot, 'bin/el4ner.js');
    await run(process.execPath, [
      bin,
      'ensemble',
      '--pred',
      p1,
      '--pred',
      p2,
      '--pred',
      p3,
      '--output',
      out,
      '--strategy',
      'vote',
    ]);
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)) as NerDocument[];
    const key = (es: NerDocument['entities']) => es.map((e) => `${e.start}:${e.end}:${e.type}`).sort();
    for (const [i, row] of rows.entries()) assert.deepEqual(key(row.entities), key(docs[i].entities), row.id);
    assert.deepEqual(
      rows[0].entities[0].sources?.map((s) => s.model),
      ['p1', 'p2', 'p3'],
    );
    await assert.rejects(
      run(process.execPath, [bin, 'ensemble', '--pred', p1, '--pred', p2, '--output', out, '--weights', '1']),
      /--weights needs 2/,
    );
  });

  it('`el4ner ensemble` resolves overlapping votes on flat outputs, keeps nesting when a system nests', async () => {
    const text = 'New York City Marathon runners';
    const e = (start: number, end: number, type: string) => ({
      start,
      end,
      type,
      text: text.slice(start, end),
    });
    const file = (name: string, entities: ReturnType<typeof e>[]) => {
      const f = path.join(dir, name);
      writeFileSync(f, `${JSON.stringify({ id: 'd1', text, entities })}\n`);
      return f;
    };
    // three flat taggers that disagree on the extent: "New York City" twice, "New York" once
    const a = file('ov-a.jsonl', [e(0, 13, 'LOC')]);
    const b = file('ov-b.jsonl', [e(0, 8, 'LOC')]);
    const c = file('ov-c.jsonl', [e(0, 13, 'LOC')]);
    const bin = path.join(repoRoot, 'bin/el4ner.js');
    const out = path.join(dir, 'ov-out.jsonl');
    const ensemble = async (files: string[], ...flags: string[]) => {
      const r = await run(process.execPath, [
        bin,
        'ensemble',
        ...files.flatMap((f) => ['--pred', f]),
        '--output',
        out,
        '--min-votes',
        '1',
        ...flags,
      ]);
      const row = JSON.parse(readFileSync(out, 'utf8').trim()) as NerDocument;
      return { stderr: r.stderr, spans: row.entities.map((x) => `${x.start}:${x.end}`).sort() };
    };
    const flat = await ensemble([a, b, c]);
    assert.deepEqual(flat.spans, ['0:13'], 'the span two of three proposed wins');
    assert.match(flat.stderr, /best-voted span of overlapping ones kept/);
    // the result is a valid flat output: the CoNLL writer takes it
    await run(process.execPath, [bin, 'convert', out, path.join(dir, 'ov-out.conll')]);
    assert.deepEqual((await ensemble([a, b, c], '--overlaps', 'nested')).spans, ['0:13', '0:8']);
    // a system whose own output nests: the data is nested, everything is kept
    const nested = file('ov-nested.jsonl', [e(0, 22, 'EVENT'), e(0, 13, 'LOC')]);
    assert.deepEqual((await ensemble([a, b, nested])).spans, ['0:13', '0:22', '0:8']);
    await assert.rejects(ensemble([a, b], '--overlaps', 'maybe'), /--overlaps must be auto, flat or nested/);
  });
});

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tokenize } from '../../src/core/tokenize.js';
import { markInline } from '../../src/fusion/inline-tagging.js';
import type { FusionReport } from '../../src/fusion/pipeline.js';
import type { CrfTagger } from '../../src/slm/tagger.js';
import { sharedDocs } from '../fusion/helpers.js';
import { jsonl, readRows, spanKeys } from '../support/cli.js';
import { type FusionWorld, startFusionWorld } from '../support/fusion-world.js';
import type { ScriptedServer } from '../support/scripted-server.js';

describe('el4ner run / eval with the CRF: SLM alone, SLM fallback, fusion report (CLI)', () => {
  let world: FusionWorld;
  let dir: string;
  let crf: CrfTagger;
  let srv: ScriptedServer;
  const el4ner = (args: string[]) => world.el4ner(args);
  let down = false;
  /** Texts the scripted LLM fails on (HTTP 500) while the rest are answered. */
  let failing = new Set<string>();
  const dev = sharedDocs('conll2003', 'dev', 50);
  const test = dev.slice(0, 30);
  const tune = dev.slice(30);
  const byText = new Map(dev.map((d) => [d.text, d]));

  before(async () => {
    world = await startFusionWorld({
      name: 'cli-fusion',
      trainSentences: 200,
      maxIterations: 40,
      test,
      chat: (req) => {
        const text = req.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
        if (down || failing.has(text))
          return { status: 500, errorBody: { error: { message: 'scripted outage' } } };
        const d = byText.get(text);
        if (!d) return { status: 400, errorBody: { error: { message: 'unknown sentence' } } };
        return { content: markInline(d.text, d.entities), logprobs: 'auto' };
      },
    });
    ({ dir, crf, srv } = world);
    writeFileSync(
      path.join(dir, 'dev.jsonl'),
      jsonl(tune.map((d) => ({ id: d.id, text: d.text, entities: d.entities }))),
    );
  });
  after(() => world?.close());

  const model = () => ({
    name: 'tagger',
    engine: 'openai',
    baseUrl: srv.url,
    model: 'tagger',
    server: 'vllm',
    maxAttempts: 1,
    maxTokens: 512,
    timeoutMs: 5000,
  });

  it('run with only fusion.slm: every document written, tagged by the CRF, and the notice on stderr', async () => {
    // A relative model path resolves against the config's folder.
    writeFileSync(path.join(dir, 'slm.yaml'), 'fusion:\n  slm: crf.model\n');
    const out = path.join(dir, 'out-slm.jsonl');
    const r = await el4ner(['run', '--config', 'slm.yaml', '--input', 'input.jsonl', '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no LLM configured: tagging with the supervised CRF alone/);
    const rows = readRows(out);
    assert.deepEqual(
      rows.map((d) => d.id),
      test.map((d) => d.id),
    );
    assert.deepEqual(
      rows.map(spanKeys),
      crf.predictAll(test.map((d) => ({ id: d.id, text: d.text }))).map(spanKeys),
    );
    assert.ok(rows.filter((d) => d.entities.length > 0).length >= 10);
    // Each document's context came from the input (the CRF reads it): alone, they come out otherwise.
    assert.ok(crf.readsContext);
    assert.notDeepEqual(
      rows.map(spanKeys),
      test.map((d) => spanKeys(crf.predict({ id: d.id, text: d.text }))),
    );
    // A resumed run sees the same context as the full one.
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    writeFileSync(out, `${lines.slice(0, 12).join('\n')}\n`);
    const again = await el4ner(['run', '--config', 'slm.yaml', '--input', 'input.jsonl', '--output', out]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /12 document\(s\) already in/);
    assert.deepEqual(readRows(out).map(spanKeys), rows.map(spanKeys));
  });

  it('eval with only fusion.slm scores the CRF alone, with the scores `el4ner score` gives its output', async () => {
    writeFileSync(path.join(dir, 'slm.yaml'), 'fusion:\n  slm: crf.model\n');
    const report = path.join(dir, 'slm-report.json');
    const r = await el4ner(['eval', '--config', 'slm.yaml', '--test', 'test.jsonl', '--report', report]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(readFileSync(report, 'utf8')) as {
      kind: string;
      micro: { f1: number; tp: number };
    };
    assert.equal(json.kind, 'slm');
    const out = path.join(dir, 'out-slm-eval.jsonl');
    assert.equal(
      (await el4ner(['run', '--config', 'slm.yaml', '--input', 'input.jsonl', '--output', out])).code,
      0,
    );
    const scored = await el4ner(['score', '--gold', 'test.jsonl', '--pred', out, '--json']);
    assert.equal(scored.code, 0, scored.stderr);
    const s = JSON.parse(scored.stdout) as { micro: { f1: number; tp: number } };
    assert.equal(json.micro.tp, s.micro.tp);
    assert.ok(Math.abs(json.micro.f1 - s.micro.f1) < 1e-12);
    assert.match(r.stdout, /strict micro/);
  });

  it('run with a backbone that always answers 500 and fusion.slm: every document by the SLM, marked', async () => {
    down = true;
    try {
      writeFileSync(
        path.join(dir, 'down.json'),
        JSON.stringify({
          models: [model()],
          labels: ['LOC', 'MISC', 'ORG', 'PER'],
          fusion: { slm: 'crf.model' },
        }),
      );
      const out = path.join(dir, 'out-down.jsonl');
      const r = await el4ner([
        'run',
        '--config',
        'down.json',
        '--input',
        'input.jsonl',
        '--output',
        out,
        '--no-cache',
      ]);
      // every row written, each marked degraded (the fallback), and the exit code says so
      assert.equal(r.code, 8, r.stderr);
      assert.match(r.stderr, /30 of 30 document\(s\) tagged by the supervised CRF alone/);
      assert.match(r.stderr, /model tagger failed/);
      assert.match(r.stderr, /30 of the 30 row\(s\) written are degraded/);
      const rows = readRows(out);
      assert.equal(rows.length, test.length);
      assert.ok(rows.every((d) => (d.meta as { fallback?: string } | undefined)?.fallback === 'slm'));
      assert.ok(
        rows.every((d) => d.degraded === true && d.warnings?.some((w) => /HTTP 500/.test(w.message))),
      );
      assert.deepEqual(
        rows.map(spanKeys),
        crf.predictAll(test.map((d) => ({ id: d.id, text: d.text }))).map(spanKeys),
      );
    } finally {
      down = false;
    }
  });

  it('run with the backbone down and no SLM: every row says why no model answered, exit code 9', async () => {
    down = true;
    try {
      writeFileSync(
        path.join(dir, 'down-nocrf.json'),
        JSON.stringify({ models: [model()], labels: ['LOC', 'MISC', 'ORG', 'PER'] }),
      );
      const out = path.join(dir, 'out-nocrf.jsonl');
      const r = await el4ner([
        'run',
        '--config',
        'down-nocrf.json',
        '--input',
        'input.jsonl',
        '--output',
        out,
        '--no-cache',
      ]);
      assert.equal(r.code, 9, r.stderr);
      assert.match(r.stderr, /30 of 30 document\(s\) had no answer from any model/);
      const rows = readRows(out);
      assert.equal(rows.length, test.length);
      for (const row of rows) {
        assert.deepEqual(row.entities, []);
        assert.equal(row.degraded, true);
        assert.match(
          String(row.error),
          /no engine answered for document ".*": tagger: .*HTTP 500 server error/,
        );
      }
      // the cost table counts the failed calls
      assert.match(r.stderr, /model tagger\s+\d+\s+\d+\s+\d+\s+\d+\s+[\d.]+\s+[1-9]/);
    } finally {
      down = false;
    }
  });

  /** `eval` of the fusion config with lambda chosen on dev.jsonl, its report written to `report`. */
  const evalWithDev = (report: string) => [
    'eval',
    '--config',
    'fusion.json',
    '--test',
    'test.jsonl',
    '--dev',
    'dev.jsonl',
    '--report',
    report,
    '--no-cache',
  ];

  it('eval with fusion: SLM alone, LLM alone and fused, lambda chosen on --dev', async () => {
    writeFileSync(
      path.join(dir, 'fusion.json'),
      JSON.stringify({ models: [model()], fusion: { slm: 'crf.model', llm: 'tagger', lambda: 'auto' } }),
    );
    // lambda 'auto' without a dev set: a clear error naming the key.
    const noDev = await el4ner(['eval', '--config', 'fusion.json', '--test', 'test.jsonl', '--no-cache']);
    assert.notEqual(noDev.code, 0);
    assert.match(noDev.stderr, /fusion\.dev/);

    const reportFile = path.join(dir, 'report.json');
    const r = await el4ner(evalWithDev(reportFile));
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as FusionReport & { kind: string };
    assert.equal(report.kind, 'fusion');
    assert.equal(report.documents, test.length);
    assert.ok(report.lambdaSearch, 'lambda was searched');
    assert.equal(report.lambda, report.lambdaSearch.lambda);
    // The scripted LLM echoes gold inline: alone it is perfect through the parser; the CRF is not.
    assert.equal(report.llm?.strict.f1, 1);
    assert.ok(report.slm.strict.f1 < 1);
    const d = report.decided;
    // test.jsonl has no tokens: eval tokenizes the text with the project tokenizer.
    const tokens = test.reduce((n, x) => n + tokenize(x.text).length, 0);
    assert.equal(d.agree + d.slm + d.llm, tokens);
    const line = (name: string) => r.stdout.split('\n').find((l) => l.startsWith(name)) ?? '';
    for (const [name, s] of [
      ['SLM alone', report.slm],
      ['LLM alone', report.llm!],
      ['fused', report.fused],
    ] as const) {
      const l = line(name);
      assert.ok(l, `row ${name} in\n${r.stdout}`);
      assert.ok(l.includes((100 * s.strict.f1).toFixed(2)), l);
      assert.ok(l.includes((100 * s.tokenMacro.f1).toFixed(2)), l);
    }
    assert.match(r.stdout, new RegExp(`chosen on ${tune.length} dev document\\(s\\)`));
    assert.match(r.stdout, new RegExp(`tokens decided: ${tokens} in all; both agree ${d.agree}`));
  });

  it('eval with fusion lambda auto whose LLM fails on two --dev documents: a degraded choice, said, exit code 8', async () => {
    // two apart: fewer failures in a row than open the circuit breaker
    failing = new Set([tune[3].text, tune[12].text]);
    try {
      const reportFile = path.join(dir, 'dev-down-report.json');
      const r = await el4ner(evalWithDev(reportFile));
      assert.equal(r.code, 8, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^el4ner: dev\\.jsonl: 2 of ${tune.length} document\\(s\\) degraded \\(.*\\) while lambda was chosen on them: a degraded choice`,
          'm',
        ),
      );
      assert.match(r.stderr, /the LLM failed on 2 of them \(the SLM alone there\): a degraded choice/);
      // every test document was answered: its scores are not degraded
      assert.doesNotMatch(r.stderr, /test\.jsonl: \d+ of/);
      assert.match(r.stdout, /values tried, the LLM failing on 2 of them\)/);
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
        degradedDocuments: number;
        degradedDevDocuments: number;
      };
      assert.equal(report.degradedDocuments, 0);
      assert.equal(report.degradedDevDocuments, 2);
    } finally {
      failing = new Set();
    }
  });

  // eval scores a method the way run tags with it: when a model's answers were lost, the report and
  // scores are still written, one line says what that means, and the exit code is run's (8 / 9)
  const evalDown = async (config: object, name: string) => {
    down = true;
    try {
      writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(config));
      const reportFile = path.join(dir, `${name}-report.json`);
      const r = await el4ner([
        'eval',
        '--config',
        `${name}.json`,
        '--test',
        'test.jsonl',
        '--report',
        reportFile,
        '--no-cache',
      ]);
      const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
        kind: string;
        degradedDocuments: number;
        unansweredDocuments: number;
      };
      return { r, report };
    } finally {
      down = false;
    }
  };
  const degradedLine = (n: number, more = '') =>
    new RegExp(
      `^el4ner: test\\.jsonl: ${n} of ${test.length} document\\(s\\) degraded${more} \\(.*\\): the score is that of the degraded output, not of the method with every model answering`,
      'm',
    );

  it('eval with fusion whose LLM always answers 500: the report is written, exit code 8', async () => {
    const { r, report } = await evalDown(
      { models: [model()], fusion: { slm: 'crf.model', llm: 'tagger', lambda: 5 } },
      'fusion-down',
    );
    assert.equal(r.code, 8, r.stderr);
    assert.equal(report.kind, 'fusion');
    assert.equal(report.degradedDocuments, test.length);
    assert.match(r.stdout, new RegExp(`LLM failures \\(SLM used alone\\): ${test.length};`));
    assert.match(r.stderr, degradedLine(test.length));
  });

  it('eval of EL4NER whose backbone always answers 500, the CRF standing in: exit code 8', async () => {
    const { r, report } = await evalDown(
      { models: [model()], labels: ['LOC', 'MISC', 'ORG', 'PER'], fusion: { slm: 'crf.model' } },
      'el4ner-fallback-down',
    );
    assert.equal(r.code, 8, r.stderr);
    assert.equal(report.kind, 'el4ner');
    assert.equal(report.degradedDocuments, test.length);
    assert.match(r.stdout, /strict|F1/);
    assert.match(r.stderr, degradedLine(test.length));
  });

  it('eval of EL4NER whose backbone always answers 500 and no CRF: scored with no entities, exit code 9', async () => {
    const { r, report } = await evalDown(
      { models: [model()], labels: ['LOC', 'MISC', 'ORG', 'PER'] },
      'el4ner-down',
    );
    assert.equal(r.code, 9, r.stderr);
    assert.equal(report.degradedDocuments, test.length);
    assert.equal(report.unansweredDocuments, test.length);
    assert.match(r.stderr, /had no answer from any model/);
    assert.match(
      r.stderr,
      degradedLine(test.length, `, ${test.length} with no answer from any model \\(scored as no entities\\)`),
    );
  });
});

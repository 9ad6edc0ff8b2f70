import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMethod } from '../../src/assemble/index.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError, NoAnswerError } from '../../src/core/errors.js';
import type { NerDocument } from '../../src/core/types.js';
import { markInline } from '../../src/fusion/inline-tagging.js';
import { type CrfTagger, trainCrf } from '../../src/slm/tagger.js';
import { sharedDocs } from '../fusion/helpers.js';
import { type ScriptedServer, startScriptedServer } from '../support/scripted-server.js';

const LABELS = ['LOC', 'MISC', 'ORG', 'PER'];

function model(url: string, name: string, over: Record<string, unknown> = {}) {
  return {
    name,
    engine: 'openai',
    baseUrl: url,
    model: name,
    server: 'vllm',
    maxAttempts: 1,
    timeoutMs: 5000,
    concurrency: 4,
    ...over,
  };
}

const plain = (d: NerDocument): NerDocument => ({ id: d.id, text: d.text, entities: [] });
const spans = (d: NerDocument) => d.entities.map((e) => `${e.start}:${e.end}:${e.type}`);

describe('createMethod: the CRF alone, the CRF fallback and fusion', () => {
  let dir: string;
  let crfFile: string;
  let crf: CrfTagger;
  let srv: ScriptedServer;
  /** What the scripted server does: 'down' answers 500, 'echo' tags the gold entities inline with logprobs. */
  let mode: 'down' | 'echo' = 'down';
  const dev = sharedDocs('conll2003', 'dev', 40);
  const test = dev.slice(0, 20);
  const tune = dev.slice(20);
  const byText = new Map(dev.map((d) => [d.text, d]));

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-runner-'));
    crf = await trainCrf(sharedDocs('conll2003', 'train', 200), { maxIterations: 40 });
    crfFile = path.join(dir, 'crf.model');
    await crf.save(crfFile);
    writeFileSync(path.join(dir, 'dev.jsonl'), tune.map((d) => JSON.stringify(d)).join('\n'));
    srv = await startScriptedServer({
      chat: (req) => {
        if (mode === 'down') return { status: 500, errorBody: { error: { message: 'scripted outage' } } };
        const text = req.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
        const d = byText.get(text);
        if (!d) return { status: 400, errorBody: { error: { message: 'unknown sentence' } } };
        // Later documents answer sooner, so completion order differs from input order.
        const delayMs = 5 * (dev.length - dev.indexOf(d));
        return { content: markInline(d.text, d.entities), logprobs: 'auto', delayMs };
      },
    });
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no models and fusion.slm: the SLM alone, and it says so', async () => {
    const logs: string[] = [];
    const method = await createMethod(parseConfig({ fusion: { slm: crfFile } }), {
      log: (m) => logs.push(m),
    });
    try {
      assert.equal(method.info.kind, 'slm');
      assert.ok(logs.some((l) => /no LLM configured: tagging with the supervised CRF alone/.test(l)));
      const seen: string[] = [];
      const out = await method.extract(test.map(plain), { onDocument: (d) => void seen.push(d.id) });
      assert.deepEqual(
        out.map((d) => d.id),
        test.map((d) => d.id),
      );
      assert.deepEqual(
        seen,
        test.map((d) => d.id),
      );
      assert.deepEqual(out.map(spans), crf.predictAll(test.map(plain)).map(spans));
      assert.ok(out.some((d) => d.entities.length > 0));
    } finally {
      await method.close();
    }
  });

  it('EL4NER with every model down and fusion.slm: each document tagged by the SLM, marked, counted', async () => {
    mode = 'down';
    const logs: string[] = [];
    const config = parseConfig({
      models: [model(srv.url, 'a'), model(srv.url, 'b')],
      labels: LABELS,
      fusion: { slm: crfFile },
      concurrency: 4,
    });
    const method = await createMethod(config, { log: (m) => logs.push(m), noCache: true });
    try {
      assert.equal(method.info.kind, 'el4ner');
      const before = srv.requests.length;
      const docs = test.slice(0, 8).map(plain);
      const seen: string[] = [];
      const r = await method.tag(docs);
      const out = await method.extract(docs, { onDocument: (d) => void seen.push(d.id) });
      // both backbones were asked until their circuit breakers opened; later calls were refused
      assert.ok(srv.requests.length - before >= 2 * 5, 'both backbones were asked');
      for (const m of ['a', 'b']) {
        const t = method.cost().byModel[m];
        assert.ok(t.failedCalls >= 5 && t.refused > 0, `${m}: ${JSON.stringify(t)}`);
      }
      assert.deepEqual(
        seen,
        docs.map((d) => d.id),
      );
      for (const o of [r.docs, out]) {
        assert.deepEqual(
          o.map((d) => d.id),
          docs.map((d) => d.id),
        );
        assert.ok(o.every((d) => d.meta?.fallback === 'slm'));
        assert.ok(o.every((d) => d.warnings?.some((w) => w.kind === 'fallback')));
        assert.ok(o.every((d) => d.warnings?.some((w) => w.kind === 'failed' && w.model === 'a')));
        assert.deepEqual(o.map(spans), crf.predictAll(docs).map(spans));
      }
      assert.ok(r.failures.some((f) => f.model === 'a') && r.failures.some((f) => f.model === 'b'));
      assert.equal(
        logs.filter((l) => /8 of 8 document\(s\) tagged by the supervised CRF alone/.test(l)).length,
        2,
      );
    } finally {
      await method.close();
    }
  });

  it('EL4NER with every model down and no SLM: the document fails loudly', async () => {
    mode = 'down';
    const config = parseConfig({ models: [model(srv.url, 'a')], labels: LABELS });
    const method = await createMethod(config, { log: () => {}, noCache: true });
    try {
      assert.deepEqual(method.info.models, ['a']);
      await assert.rejects(method.extract(test.slice(0, 3).map(plain)), (e: unknown) => {
        assert.ok(e instanceof NoAnswerError);
        assert.equal(e.statusCode, 503);
        assert.match(e.message, /no engine answered for document/);
        return true;
      });
    } finally {
      await method.close();
    }
  });

  it('fusion: tags with the CRF and the LLM, output and onDocument in input order', async () => {
    mode = 'echo';
    const logs: string[] = [];
    const config = parseConfig({
      models: [model(srv.url, 'tagger', { maxTokens: 512 })],
      fusion: { slm: crfFile, llm: 'tagger', lambda: 1 },
      concurrency: 4,
    });
    const method = await createMethod(config, { log: (m) => logs.push(m), noCache: true });
    try {
      assert.equal(method.info.kind, 'fusion');
      const before = srv.requests.length;
      const seen: string[] = [];
      const out = await method.extract(test.map(plain), { onDocument: (d) => void seen.push(d.id) });
      const reqs = srv.requests.slice(before);
      assert.equal(reqs.length, test.length);
      assert.ok(reqs.every((q) => q.body.logprobs === true));
      assert.ok(srv.maxInFlight > 1, 'documents run concurrently');
      assert.deepEqual(
        out.map((d) => d.id),
        test.map((d) => d.id),
      );
      assert.deepEqual(
        seen,
        test.map((d) => d.id),
      );
      assert.ok(out.every((d) => d.meta?.fallback === undefined));
      // The LLM echoes gold with P ~ 0.99: it decides some tokens, and the result is closer to gold than the CRF.
      assert.ok(out.some((d) => d.entities.some((e) => e.sources?.some((s) => s.model === 'tagger'))));
      const hits = (docs: NerDocument[]) =>
        docs.reduce((n, d, i) => n + spans(d).filter((s) => spans(test[i]).includes(s)).length, 0);
      assert.ok(hits(out) > hits(crf.predictAll(test.map(plain))));
      assert.ok(method.cost().total.calls >= test.length);
      assert.ok(logs.some((l) => /fusion: CRF .* \+ LLM tagger, lambda 1/.test(l)));
    } finally {
      await method.close();
    }
  });

  it("fusion with lambda 'auto': a ConfigError naming fusion.dev without one, tuned on fusion.dev with one", async () => {
    mode = 'echo';
    const base = {
      models: [model(srv.url, 'tagger', { maxTokens: 512 })],
      fusion: { slm: crfFile, llm: 'tagger', lambda: 'auto' },
    };
    await assert.rejects(createMethod(parseConfig(base), { log: () => {}, noCache: true }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /fusion\.dev/);
      return true;
    });
    const logs: string[] = [];
    const method = await createMethod(
      parseConfig({ ...base, fusion: { ...base.fusion, dev: path.join(dir, 'dev.jsonl') } }),
      { log: (m) => logs.push(m), noCache: true },
    );
    try {
      assert.ok(
        logs.some((l) => /lambda \S+ chosen on 20 dev document\(s\)/.test(l)),
        logs.join('\n'),
      );
      const out = await method.extract(test.slice(0, 5).map(plain));
      assert.equal(out.length, 5);
    } finally {
      await method.close();
    }
  });

  it('fusion with the LLM down: every document tagged by the SLM alone, marked and counted', async () => {
    mode = 'down';
    const logs: string[] = [];
    const config = parseConfig({
      models: [model(srv.url, 'tagger')],
      fusion: { slm: crfFile, llm: 'tagger', lambda: 1 },
    });
    const method = await createMethod(config, { log: (m) => logs.push(m), noCache: true });
    try {
      const docs = test.slice(0, 6).map(plain);
      const r = await method.tag(docs);
      assert.ok(r.docs.every((d) => d.meta?.fallback === 'slm'));
      assert.deepEqual(r.docs.map(spans), crf.predictAll(docs).map(spans));
      assert.deepEqual(
        r.failures.map((f) => [f.model, f.stage, f.count]),
        [['tagger', 'fusion', 6]],
      );
      assert.ok(logs.some((l) => /6 of 6 document\(s\) tagged by the supervised CRF alone/.test(l)));
    } finally {
      await method.close();
    }
  });
});

describe('createMethod: the zero-shot notice says why', () => {
  const pool = sharedDocs('conll2003', 'train', 30);
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      'retrieval switched off with a pool',
      { stages: { retrieval: 'none' } },
      'retrieval none: running zero-shot',
    ],
    ['k 0 with a pool', { retrieval: { k: 0 } }, 'k 0: running zero-shot'],
  ];
  for (const [name, over, notice] of cases)
    it(name, async () => {
      const logs: string[] = [];
      const method = await createMethod(
        {
          models: [model('http://127.0.0.1:9/v1', 'a')],
          labels: LABELS,
          cache: { enabled: false },
          ...over,
        },
        { demos: pool, log: (m) => logs.push(m) },
      );
      await method.close();
      assert.ok(logs.includes(notice), logs.join('\n'));
      assert.ok(!logs.some((l) => l.includes('no demonstration pool')), logs.join('\n'));
    });
  it('no pool at all', async () => {
    const logs: string[] = [];
    const method = await createMethod(
      { models: [model('http://127.0.0.1:9/v1', 'a')], labels: LABELS, cache: { enabled: false } },
      { log: (m) => logs.push(m) },
    );
    await method.close();
    assert.ok(logs.includes('no demonstration pool: running zero-shot'), logs.join('\n'));
  });
});

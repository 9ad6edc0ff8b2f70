import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Entity, NerDocument } from '../../src/core/types.js';
import { STEPS } from '../../src/el4ner/prompts.js';
import type { Engine } from '../../src/engines/types.js';
import { pipelineFor } from '../support/method.js';
import { type Behaviour, goldByText, oracleEngine } from '../support/oracle.js';
import { conllDir, countKinds, PAPER_DECISION, readJsonl } from './helpers.js';

const test = readJsonl(path.join(conllDir, 'test.jsonl'), 40).filter((d) => d.entities.length > 0);
const pool = readJsonl(path.join(conllDir, 'train.jsonl'), 300);
const labels = ['LOC', 'MISC', 'ORG', 'PER'];

type Oracle = Engine & {
  requests: Array<{ jsonSchema?: { name: string }; messages: Array<{ content: string }> }>;
};

function engines(behaviours: Record<string, Behaviour>, fail: Record<string, boolean> = {}) {
  const byText = goldByText(test);
  const map = new Map<string, Oracle>();
  for (const [name, b] of Object.entries(behaviours))
    map.set(name, oracleEngine(name, byText, b, { fail: fail[name] ? () => true : undefined }));
  return map;
}

function kinds(map: Map<string, Oracle>) {
  const reqs: Array<{ model: string; kind: string }> = [];
  for (const [model, e] of map)
    for (const r of e.requests) reqs.push({ model, kind: r.jsonSchema?.name ?? '?' });
  return countKinds(reqs);
}

const missType = (t: string): Behaviour => ({
  extract: (g) => g.filter((e) => e.type !== t).map((e) => e.text),
});

const models = (names: string[]) =>
  names.map((name) => ({ name, engine: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: name }));

function config(extra: Record<string, unknown> = {}) {
  return parseConfig({
    models: models(['a', 'b', 'c']),
    labels,
    backbones: ['a', 'b', 'c'],
    verifier: 'a',
    retrieval: { k: 3 },
    ...PAPER_DECISION,
    ...extra,
  });
}

const quiet = () => {};
const keys = (es: readonly Entity[]) => es.map((e) => `${e.start}:${e.end}:${e.type}`);

describe('EL4NER pipeline over in-process backbones', () => {
  let spurious: Behaviour;
  before(() => {
    // C adds its first-word span when it is not an entity, and types it MISC; A and B say none.
    spurious = {
      extract: (g, s) => [...g.map((e) => e.text), s.split(' ')[0]],
      classify: (span, gt, s) => gt ?? (span === s.split(' ')[0] ? 'MISC' : 'none'),
    };
  });

  it('union recall beats every single backbone when their misses differ', async () => {
    const map = engines({ a: missType('LOC'), b: missType('PER'), c: missType('ORG') });
    const p = await pipelineFor({ config: config(), engines: map, demos: pool, log: quiet });
    const r = await p.evaluate(test);
    const singles = Object.values(r.extraction.perModel).map((m) => m.spanRecall);
    assert.equal(singles.length, 3);
    assert.ok(r.extraction.unionSpanRecall > Math.max(...singles), JSON.stringify(r.extraction));
    assert.equal(r.extraction.unionSpanRecall, 1);
    assert.equal(r.final.micro.f1, 1);
    await p.close();
  });

  it('voting removes a span only one of three backbones typed; sources and scores say who voted what', async () => {
    const map = engines({ a: {}, b: {}, c: spurious });
    const p = await pipelineFor({ config: config(), engines: map, demos: pool, log: quiet });
    const run = await p.run(test);
    const union = run.traces.flatMap((t) => t.union).length;
    const gold = test.reduce((a, d) => a + d.entities.length, 0);
    assert.ok(union > gold, 'the spurious spans reached the union');
    for (let i = 0; i < test.length; i++)
      assert.deepEqual(
        keys(run.docs[i].entities),
        keys([...test[i].entities].sort((x, y) => x.start - y.start || x.end - y.end)),
      );
    const e = run.docs[0].entities[0];
    assert.deepEqual(
      e.sources?.map((s) => `${s.model}/${s.stage}/${s.type ?? ''}`),
      [
        'a/extract/',
        'b/extract/',
        'c/extract/',
        `a/classify/${e.type}`,
        `b/classify/${e.type}`,
        `c/classify/${e.type}`,
        `a/verify/${e.type}`,
      ],
    );
    assert.equal(e.score, 1);
    await p.close();
  });

  it('verification removes what the verifier rejects, and only with verification on', async () => {
    const rejectLoc: Behaviour = { verify: (_s, type) => type !== 'LOC' };
    const on = await pipelineFor({
      config: config(),
      engines: engines({ a: rejectLoc, b: {}, c: {} }),
      demos: pool,
      log: quiet,
    });
    const off = await pipelineFor({
      config: config(),
      engines: engines({ a: rejectLoc, b: {}, c: {} }),
      demos: pool,
      log: quiet,
      stages: { verification: false },
    });
    const rOn = await on.evaluate(test);
    const rOff = await off.evaluate(test);
    const locs = test.flatMap((d) => d.entities).filter((e) => e.type === 'LOC').length;
    assert.ok(locs > 0);
    assert.equal(rOn.verification.removed, locs);
    assert.equal(rOn.final.perType.LOC?.tp ?? 0, 0);
    assert.equal(rOff.verification.removed, 0);
    assert.equal(rOff.final.perType.LOC.tp, locs);
  });

  it('weighted voting uses voteWeights per model and per type; plain voting ignores them', async () => {
    const orgAsLoc: Behaviour = { classify: (_s, gt) => (gt === 'ORG' ? 'LOC' : (gt ?? 'none')) };
    const beh = { a: orgAsLoc, b: {}, c: {} };
    const orgs = test.flatMap((d) => d.entities).filter((e) => e.type === 'ORG').length;
    assert.ok(orgs > 0);
    const evalWith = async (
      classification: 'vote' | 'weighted-vote',
      voteWeights: Record<string, unknown>,
    ) => {
      const p = await pipelineFor({
        config: config({ voteWeights }),
        engines: engines(beh),
        demos: pool,
        log: quiet,
        stages: { classification, verification: false },
      });
      return p.evaluate(test);
    };
    const plain = await evalWith('vote', { a: 3 });
    assert.equal(plain.final.perType.ORG.tp, orgs, 'b and c outvote a');
    const weighted = await evalWith('weighted-vote', { a: 3 });
    assert.equal(weighted.final.perType.ORG?.tp ?? 0, 0, 'a weighs 3 > 2');
    const perType = await evalWith('weighted-vote', { a: { LOC: 3 } });
    assert.equal(perType.final.perType.ORG?.tp ?? 0, 0, "a's LOC votes weigh 3");
    const otherType = await evalWith('weighted-vote', { a: { PER: 3 } });
    assert.equal(otherType.final.perType.ORG.tp, orgs, "a's LOC votes weigh 1");
  });

  it('each ablation switch changes exactly the stage it names', async () => {
    const docs = test.slice(0, 5);
    const n = docs.length;
    const run = async (stages: Record<string, unknown>) => {
      const map = engines({ a: {}, b: {}, c: {} });
      const p = await pipelineFor({ config: config(), engines: map, demos: pool, log: quiet, stages });
      await p.run(docs);
      return kinds(map);
    };
    const all = (kind: string, ms = ['a', 'b', 'c']) =>
      Object.fromEntries(ms.map((m) => [`${m}:${kind}`, n]));
    const full: Record<string, number> = {
      ...all('prespans'),
      ...all('spans'),
      ...all('types'),
      'a:verdicts': n,
    };
    assert.deepEqual(await run({}), full);
    const { 'a:prespans': _a, 'b:prespans': _b, 'c:prespans': _c, ...noPre } = full;
    assert.deepEqual(await run({ retrieval: 'none' }), noPre);
    assert.deepEqual(await run({ retrieval: 'random' }), noPre);
    const { 'a:verdicts': _v, ...noVerify } = full;
    assert.deepEqual(await run({ verification: false }), noVerify);
    assert.deepEqual(await run({ extraction: 'single', singleModel: 'b' }), {
      ...all('prespans'),
      'b:spans': n,
      ...all('types'),
      'a:verdicts': n,
    });
    assert.deepEqual(await run({ classification: 'single', singleModel: 'c' }), {
      ...all('prespans'),
      ...all('spans'),
      'c:types': n,
      'a:verdicts': n,
    });
    assert.deepEqual(await run({ decomposition: false }), {
      ...all('prespans'),
      ...all('entities'),
      'a:verdicts': n,
    });
  });

  it('span-level retrieval passes demonstrations from the pool into the prompts; zero-shot has none', async () => {
    const map = engines({ a: {}, b: {}, c: {} });
    const p = await pipelineFor({ config: config(), engines: map, demos: pool, log: quiet });
    const r = await p.run(test.slice(0, 3));
    assert.ok(r.traces.every((t) => t.demos.length === 3));
    const req = map.get('b')!.requests.find((q) => q.jsonSchema?.name === 'spans') as unknown as {
      messages: { content: string }[];
    };
    assert.match(req.messages[1].content, /^Sentence: .*\n\nExamples:\nExample: /s);
    const notes: string[] = [];
    const z = await pipelineFor({
      config: config(),
      engines: engines({ a: {}, b: {}, c: {} }),
      log: (m) => notes.push(m),
    });
    const zr = await z.evaluate(test.slice(0, 3));
    assert.ok(
      notes.some((m) => /zero-shot/.test(m)),
      notes.join('\n'),
    );
    assert.equal(zr.models.zeroShot, true);
    assert.equal(zr.final.micro.f1, 1);
  });

  it("retrieval.poolSpans 'llm' pre-extracts the pool's spans with the backbones, as in the paper", async () => {
    const map = engines({ a: {}, b: {} });
    const small = pool.slice(0, 20);
    const cfg = parseConfig({
      models: models(['a', 'b']),
      labels,
      retrieval: { k: 2, poolSpans: 'llm' },
      stages: { verification: false },
    });
    const p = await pipelineFor({ config: cfg, engines: map, demos: small, log: quiet });
    const r = await p.run(test.slice(0, 3));
    // The oracle only knows the test sentences: pool pre-extraction calls happen but find nothing.
    assert.deepEqual(kinds(map), {
      'a:prespans': 23,
      'b:prespans': 23,
      'a:spans': 3,
      'b:spans': 3,
      'a:types': 3,
      'b:types': 3,
    });
    assert.ok(r.traces.every((t) => t.demos.length === 2));
  });

  it('prompts share one prefix: the same for every backbone, and for every stage of a sentence up to its step', async () => {
    const map = engines({ a: {}, b: {}, c: {} });
    const p = await pipelineFor({ config: config(), engines: map, demos: pool, log: quiet });
    await p.run(test.slice(0, 2));
    for (const kind of ['spans', 'types']) {
      const msgs = ['a', 'b', 'c'].map((m) =>
        JSON.stringify(
          (map.get(m)!.requests.find((q) => q.jsonSchema?.name === kind) as unknown as { messages: unknown })
            .messages,
        ),
      );
      assert.equal(msgs[0], msgs[1]);
      assert.equal(msgs[1], msgs[2]);
    }
    const first = `Sentence: ${test[0].text}\n\n`;
    const of = (kind: string) =>
      (
        map
          .get('a')!
          .requests.find(
            (q) => q.jsonSchema?.name === kind && q.messages[1].content.startsWith(first),
          ) as unknown as {
          messages: { content: string }[];
        }
      ).messages;
    const systems = ['prespans', 'spans', 'types', 'verdicts'].map((k) => of(k)[0].content);
    assert.equal(new Set(systems).size, 1, 'one system message for every stage');
    const spans = of('spans')[1].content;
    assert.ok(spans.endsWith(`${STEPS.find}\nAnswer:`));
    const shared = spans.slice(0, spans.lastIndexOf(`\n\n${STEPS.find}`));
    assert.ok(shared.includes('\n\nExamples:\n'));
    for (const k of ['types', 'verdicts']) assert.ok(of(k)[1].content.startsWith(shared), k);
    assert.ok(of('prespans')[1].content.startsWith(first), 'zero-shot pre-extraction shares the sentence');
  });

  it('without decomposition, joint answers are voted the same way', async () => {
    const p = await pipelineFor({
      config: config(),
      engines: engines({ a: {}, b: missType('PER'), c: spurious }),
      demos: pool,
      log: quiet,
      stages: { decomposition: false, verification: false },
    });
    const r = await p.evaluate(test);
    // PER: a and c say PER, b says none -> kept; c's spurious MISC spans: 1 vs 2 none -> dropped.
    assert.equal(r.final.micro.f1, 1);
    assert.ok(r.extraction.unionSpans > r.extraction.goldSpans);
    const e = (await p.extract(test.slice(0, 1)))[0].entities[0];
    assert.deepEqual(
      e.sources?.map((x) => `${x.model}/${x.stage}`),
      ['a/joint', 'b/joint', 'c/joint'],
    );
  });

  it('copes with messy answers: prose around JSON, other keys, synonyms, wrong case, invented spans', async () => {
    const doc: NerDocument = {
      id: 'm',
      text: 'Barack Obama met Angela Merkel in Berlin .',
      entities: [
        { start: 0, end: 12, type: 'PER', text: 'Barack Obama' },
        { start: 17, end: 30, type: 'PER', text: 'Angela Merkel' },
        { start: 34, end: 40, type: 'LOC', text: 'Berlin' },
      ],
    };
    const messy: Engine = {
      name: 'm',
      identity: 'messy',
      async chat(req) {
        const kind = req.jsonSchema?.name;
        const text =
          kind === 'spans'
            ? 'Sure! Here you go: {"entities": ["barack obama", {"entity": "ANGELA MERKEL"}, "Berlin.", "Paris"]} Hope it helps.'
            : kind === 'types'
              ? '```json\n{"answers": [{"span": "Barack Obama", "type": "Person"}, {"id": 2, "type": "per"}, {"id": 3, "type": "location"}, {"id": 4, "type": "vehicle"}]}\n```'
              : '{"answers": ["Yes", "yes.", true]}';
        return { text, usage: { promptTokens: 1, completionTokens: 1, cachedPromptTokens: 0 }, latencyMs: 0 };
      },
      async embed() {
        throw new Error('no');
      },
      async close() {},
    };
    const p = await pipelineFor({
      config: parseConfig({ models: models(['m']), labels }),
      engines: new Map([['m', messy]]),
      log: quiet,
    });
    const r = await p.evaluate([doc]);
    assert.equal(r.final.micro.f1, 1, JSON.stringify(r.final));
    assert.equal(r.grounding.hallucinated, 1, 'Paris is not in the text');
  });

  it('gives identical results with concurrency 1 and 8', async () => {
    const beh = {
      a: missType('LOC'),
      b: spurious,
      c: { classify: (_s: string, gt: string | undefined) => (gt === 'ORG' ? 'MISC' : (gt ?? 'none')) },
    };
    const out = [];
    for (const c of [1, 8]) {
      const p = await pipelineFor({
        config: config(),
        engines: engines(beh),
        demos: pool,
        log: quiet,
        concurrency: c,
      });
      out.push(await p.extract(test));
    }
    assert.deepEqual(out[0], out[1]);
  });

  it('drops a failing backbone and names it, the run goes on', async () => {
    const notes: string[] = [];
    const map = engines({ a: {}, b: {}, c: {} }, { b: true });
    const p = await pipelineFor({ config: config(), engines: map, demos: pool, log: (m) => notes.push(m) });
    const r = await p.evaluate(test.slice(0, 10));
    assert.equal(r.final.micro.f1, 1);
    assert.deepEqual(
      r.failures.map((f) => [f.model, f.stage, f.count]),
      [
        ['b', 'classify', 10],
        ['b', 'extract', 10],
        ['b', 'retrieval', 10],
      ],
    );
    assert.ok(notes.some((m) => m.includes('model b failed')));
    assert.equal(r.cost.byModel.b.failedCalls, 30);
  });

  it('keeps the voted entities when the verifier fails, and says so in the sources', async () => {
    const map = engines({ a: {}, b: {}, c: {} });
    const verifier = map.get('a')!;
    const chat = verifier.chat.bind(verifier);
    verifier.chat = async (req) => {
      if (req.jsonSchema?.name === 'verdicts')
        throw Object.assign(new Error('down'), { name: 'EngineError' });
      return chat(req);
    };
    const p = await pipelineFor({ config: config(), engines: map, demos: pool, log: quiet });
    const r = await p.evaluate(test.slice(0, 5));
    assert.equal(r.final.micro.f1, 1);
    assert.deepEqual(
      r.failures.map((f) => `${f.model}:${f.stage}:${f.count}`),
      ['a:verify:5'],
    );
    const out = await p.extract(test.slice(0, 1));
    assert.ok(out[0].entities.every((e) => !e.sources?.some((s) => s.stage === 'verify')));
  });

  it('maps chunks of a long document back to document offsets', async () => {
    const docs = test.slice(0, 4);
    const long: NerDocument = { id: 'long', text: '', entities: [] };
    for (const d of docs) {
      const off = long.text.length;
      long.text += `${d.text}\n\n`;
      long.entities.push(...d.entities.map((e) => ({ ...e, start: e.start + off, end: e.end + off })));
    }
    const byText = goldByText(docs);
    const map = new Map([['a', oracleEngine('a', byText)]]);
    const p = await pipelineFor({
      config: parseConfig({ models: models(['a']), labels, maxChars: 200 }),
      engines: map,
      log: quiet,
    });
    const r = await p.run([long]);
    // whole sentences packed up to maxChars: more than one chunk, none longer than 200
    assert.ok(r.traces.length >= 2 && r.traces.length < 4, String(r.traces.length));
    for (const t of r.traces) assert.ok(t.end - t.start <= 200);
    assert.deepEqual(
      keys(r.docs[0].entities),
      keys([...long.entities].sort((x, y) => x.start - y.start || x.end - y.end)),
    );
    for (const e of r.docs[0].entities) assert.equal(long.text.slice(e.start, e.end), e.text);
  });

  it('an SLM voter adds its spans to the union and votes like one more backbone', async () => {
    // a and b miss PER; the SLM finds PER spans and also types ORG as MISC (outvoted).
    const byText = goldByText(test);
    const slm = {
      name: 'crf',
      predict: (doc: { text: string }) => ({
        entities: (byText.get(doc.text) ?? []).map((e) => ({
          ...e,
          type: e.type === 'ORG' ? 'MISC' : e.type,
        })),
      }),
    };
    const beh = {
      a: missType('PER'),
      b: missType('PER'),
      c: { classify: (_s: string, gt?: string) => gt ?? 'none' },
    };
    const cfg = parseConfig({
      models: models(['a', 'b', 'c']),
      labels,
      backbones: ['a', 'b'],
      verifier: 'a',
    });
    const without = await (
      await pipelineFor({ config: cfg, engines: engines(beh), demos: pool, log: quiet })
    ).evaluate(test);
    const p = await pipelineFor({ config: cfg, engines: engines(beh), demos: pool, log: quiet, slm });
    const withSlm = await p.evaluate(test);
    assert.equal(without.final.perType.PER?.tp ?? 0, 0);
    const pers = test.flatMap((d) => d.entities).filter((e) => e.type === 'PER').length;
    assert.equal(withSlm.extraction.perModel.crf.spanRecall, 1);
    assert.equal(withSlm.extraction.unionSpanRecall, 1);
    // PER: a, b say PER (the oracle types by gold), crf says PER -> kept; ORG: a, b ORG vs crf MISC -> ORG.
    assert.equal(withSlm.final.perType.PER.tp, pers);
    assert.equal(withSlm.final.micro.f1, 1);
    const run = await p.run(test.slice(0, 3));
    const e = run.docs.flatMap((d) => d.entities).find((x) => x.type === 'PER');
    assert.ok(e?.sources?.some((s) => s.model === 'crf' && s.stage === 'slm' && s.type === 'PER'));
    assert.ok(
      !e?.sources?.some((s) => s.model === 'a' && s.stage === 'extract'),
      'a did not propose the PER span',
    );
  });

  it('refuses a config without labels and pool', async () => {
    await assert.rejects(pipelineFor({ config: parseConfig({ models: models(['a']) }) }), ConfigError);
  });

  it('takes labels from the pool and accepts plain strings as input', async () => {
    const map = engines({ a: {} });
    const p = await pipelineFor({
      config: parseConfig({ models: models(['a']) }),
      engines: map,
      demos: pool,
      log: quiet,
    });
    assert.deepEqual(p.method.info.labels, labels);
    const [doc] = await p.extract(test[0].text);
    assert.equal(doc.id, '1');
    assert.deepEqual(keys(doc.entities), keys([...test[0].entities].sort((x, y) => x.start - y.start)));
  });
});

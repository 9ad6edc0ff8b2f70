/**
 * Answers from small models, through the wiring production uses (createMethod, the OpenAI engine
 * over real HTTP): one model as backbone and verifier survives unusable answers; repairs and
 * re-asks are counted per model and stage and reach the report, the log and the cost table; each
 * document says what failed or was repaired for it; the small-model simulator's misbehaviours are
 * read or re-asked, and a share of them costs little F1.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMethod } from '../../src/assemble/index.js';
import type { PipelineReport } from '../../src/el4ner/report.js';
import { goldByText, oracleAnswer, parsePrompt } from '../support/oracle.js';
import { oracleConfig, requestSpanShape, schemaName } from '../support/oracle-server.js';
import { type ScriptedServer, startScriptedServer } from '../support/scripted-server.js';
import { MISBEHAVIOURS, startSmallModelServer } from '../support/small-model-server.js';
import { conllDir, readJsonl } from './helpers.js';

const dev = readJsonl(path.join(conllDir, 'dev.jsonl'), 80).filter((d) => d.entities.length > 0);
const pool = readJsonl(path.join(conllDir, 'train.jsonl'), 300);

describe('one model as backbone and verifier', () => {
  const docs = dev.slice(0, 12);
  const [onlyExtractLost, allLost, verifyLost] = docs;
  let server: ScriptedServer;
  before(async () => {
    const byText = goldByText(docs);
    server = await startScriptedServer({
      chat: (req) => {
        const kind = schemaName(req);
        const { sentence } = parsePrompt(req.messages, kind);
        const lost =
          (sentence === onlyExtractLost.text && kind === 'spans') ||
          sentence === allLost.text ||
          (sentence === verifyLost.text && kind === 'verdicts');
        if (lost) return 'I am sorry, I cannot help with that request.';
        return { json: oracleAnswer(byText, {}, req.messages, kind, requestSpanShape(req)) };
      },
    });
  });
  after(() => server.close());

  it('an unusable answer does not lose the run: the document says what happened', async () => {
    const notes: string[] = [];
    // verification of every entity (the paper's policy), so a lost verification shows
    const method = await createMethod(
      oracleConfig(server.url, ['m'], { retrieval: { k: 3 }, verification: { policy: 'all' } }),
      {
        demos: pool,
        log: (m) => notes.push(m),
      },
    );
    const r = await method.tag(docs);
    await method.close();
    assert.equal(r.docs.length, docs.length);
    const byId = new Map(r.docs.map((d) => [d.id, d]));
    const keys = (es: readonly { start: number; end: number; type: string }[]) =>
      es.map((e) => `${e.start}:${e.end}:${e.type}`).sort();

    // extraction lost: the model's zero-shot spans from retrieval stand in
    const a = byId.get(onlyExtractLost.id)!;
    assert.deepEqual(keys(a.entities), keys(onlyExtractLost.entities));
    assert.ok(
      a.warnings?.some((w) => w.kind === 'failed' && w.stage === 'extract' && w.model === 'm'),
      JSON.stringify(a.warnings),
    );
    assert.ok(a.warnings?.some((w) => w.kind === 'repaired' && /zero-shot spans used/.test(w.message)));

    // every answer lost: written without entities, and it says so
    const b = byId.get(allLost.id)!;
    assert.deepEqual(b.entities, []);
    assert.ok(
      b.warnings?.some((w) => w.kind === 'failed' && w.stage === 'document'),
      JSON.stringify(b.warnings),
    );
    assert.ok(
      notes.some((n) => /1 of 12 document\(s\) written without entities/.test(n)),
      notes.join('\n'),
    );

    // verification lost: the voted entities are kept, and the row names the stage and model
    const c = byId.get(verifyLost.id)!;
    assert.deepEqual(keys(c.entities), keys(verifyLost.entities));
    assert.ok(c.warnings?.some((w) => w.kind === 'failed' && w.stage === 'verify' && w.model === 'm'));

    // the others are clean
    for (const d of docs.slice(3)) {
      assert.equal(byId.get(d.id)!.warnings, undefined, d.id);
      assert.deepEqual(keys(byId.get(d.id)!.entities), keys(d.entities));
    }
  });
});

describe('repairs and re-asks per model and stage', () => {
  it('reach the report, the log and the cost table', async () => {
    const docs = dev.slice(0, 30);
    const server = await startSmallModelServer({ gold: docs, rate: 0.5, seed: 3 });
    try {
      const notes: string[] = [];
      const method = await createMethod(
        oracleConfig(server.url, ['a', 'b'], { verification: { policy: 'all' } }),
        {
          log: (m) => notes.push(m),
        },
      );
      const report = (await method.evaluate(docs)).details as PipelineReport;
      const reasks = report.answers.reasks.reduce((n, q) => n + q.count, 0);
      assert.equal(reasks, server.stats.reasks, 'the re-asks the server saw');
      assert.equal(report.answers.reasksPer100, (100 * reasks) / report.sentences);
      const models = new Set(report.answers.repairs.map((x) => x.model));
      const stages = new Set(report.answers.repairs.map((x) => x.stage));
      assert.deepEqual([...models].sort(), ['a', 'b']);
      for (const s of ['extract', 'classify', 'verify']) assert.ok(stages.has(s), s);
      const kinds = new Set(report.answers.repairs.flatMap((x) => Object.keys(x.kinds)));
      for (const k of ['JSON taken out of surrounding text', 'shape read leniently', 'type mapped'])
        assert.ok(kinds.has(k), `${k} in ${[...kinds].join(', ')}`);
      assert.ok((report.answers.documentsWithWarnings.repaired ?? 0) > 0);
      const text = (await method.evaluate(docs.slice(0, 5))).text;
      assert.match(text, /^repairs {5}a \(classify\): \d+ answer\(s\); /m);
      assert.match(text, /^re-asks {5}\d+ \(/m);
      assert.ok(notes.some((n) => /^model a needed repairs in \d+ answer\(s\) of stage classify/.test(n)));
      const cost = method.formatCost();
      assert.match(cost, /^repairs: model b needed repairs in \d+ answer\(s\) of stage extract: /m);
      await method.close();
    } finally {
      await server.close();
    }
  });
});

describe('the small-model simulator', () => {
  const docs = dev.slice(0, 24);

  it('every misbehaviour is read leniently or asked again, and costs little', async () => {
    const clean = await startSmallModelServer({ gold: docs, rate: 0 });
    const m0 = await createMethod(oracleConfig(clean.url, ['m'], { verification: { policy: 'all' } }), {
      log: () => {},
    });
    const f0 = (await m0.evaluate(docs)).micro.f1;
    await m0.close();
    await clean.close();
    assert.ok(f0 > 0.8, `clean F1 ${f0}`);
    for (const kind of MISBEHAVIOURS) {
      const server = await startSmallModelServer({ gold: docs, rate: 0.5, kinds: [kind] });
      try {
        const method = await createMethod(
          oracleConfig(server.url, ['m'], { verification: { policy: 'all' } }),
          {
            log: () => {},
          },
        );
        const f1 = (await method.evaluate(docs)).micro.f1;
        await method.close();
        const n = server.stats.misbehaved[kind] ?? 0;
        assert.ok(n > 0, `${kind} happened`);
        if (kind === 'truncated') {
          // the one shape with nothing usable left (until a JSON repair closes cut answers): asked again
          assert.ok(server.stats.reasks > 0 && server.stats.reasks <= n, JSON.stringify(server.stats));
          continue;
        }
        assert.equal(server.stats.reasks, 0, `${kind} was read without asking again`);
        assert.ok(f1 >= 0.9 * f0, `${kind}: F1 ${f1} against ${f0} clean`);
      } finally {
        await server.close();
      }
    }
  });

  it('with 30% misbehaving answers, F1 stays within 5% of clean (one model, 60 sentences)', async () => {
    const sixty = dev.slice(0, 60);
    const f1 = async (rate: number) => {
      const server = await startSmallModelServer({ gold: sixty, rate });
      try {
        // verification of every entity (the paper's policy), so a lost verification shows
        const method = await createMethod(
          oracleConfig(server.url, ['m'], { retrieval: { k: 3 }, verification: { policy: 'all' } }),
          {
            demos: pool,
            log: () => {},
          },
        );
        const r = await method.evaluate(sixty);
        await method.close();
        return r.micro.f1;
      } finally {
        await server.close();
      }
    };
    const clean = await f1(0);
    const messy = await f1(0.3);
    assert.ok(messy >= 0.95 * clean, `${messy} against ${clean}`);
  });
});

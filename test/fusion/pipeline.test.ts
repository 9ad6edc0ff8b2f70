import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/core/errors.js';
import { alignTokens } from '../../src/core/tokenize.js';
import { OpenAIEngine } from '../../src/engines/openai.js';
import { demonstrationsFromRetriever } from '../../src/fusion/demonstrations.js';
import { createFusion, fusionEval } from '../../src/fusion/pipeline.js';
import { LexicalEmbedder } from '../../src/retrieval/embedders.js';
import { DemonstrationRetriever } from '../../src/retrieval/retriever.js';
import { type ScriptedReply, type ScriptedServer, startScriptedServer } from '../support/scripted-server.js';
import { answer, doc, fastRetry, modelConfig, tableSlm } from './helpers.js';

const SENTENCE = 'Jordan visited Paris .';
// Jordan: the SLM is sure it is a person (S_S ~ 0.90); Paris: the SLM is unsure, says O (S_S ~ 0.10).
const slmTable: Record<string, [string, number]> = { Jordan: ['B-PER', 0.97], Paris: ['O', 0.4] };
// The LLM calls both LOC: unsure for Jordan (P 0.3), sure for Paris (P 0.95). Tokens split '<', 'LOC', '>'.
const llmAnswer = answer([
  ['<', 0.9],
  ['LOC', 0.3],
  ['>', 0.9],
  ['Jordan', 0.9],
  ['</', 0.9],
  ['LOC', 0.9],
  ['>', 0.9],
  [' visited', 0.9],
  [' <', 0.9],
  ['LOC', 0.95],
  ['>', 0.9],
  ['Paris', 0.9],
  ['</', 0.9],
  ['LOC', 0.9],
  ['>', 0.9],
  [' .', 0.9],
]);

function lastUser(messages: Array<{ role: string; content: string }>): string {
  return messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
}

describe('fusion over a real OpenAI-compatible server', () => {
  let srv: ScriptedServer;
  let replies: Record<string, ScriptedReply>;
  before(async () => {
    srv = await startScriptedServer({
      chat: (req) =>
        replies[lastUser(req.messages)] ?? { status: 500, errorBody: { error: { message: 'no script' } } },
    });
  });
  after(async () => {
    await srv.close();
  });

  it('keeps a confident SLM token and lets a confident LLM override an unsure one', async () => {
    replies = { [SENTENCE]: llmAnswer };
    const llm = new OpenAIEngine(modelConfig(srv.url), fastRetry);
    const fusion = createFusion({ slm: tableSlm(slmTable), llm, lambda: 0.5, probability: 'category' });
    const before = srv.requests.length;
    const { doc: out, stats } = await fusion.tagDocument(doc('d1', SENTENCE));
    assert.deepEqual(
      out.entities.map((e) => [e.type, e.text, e.sources?.map((s) => s.model)]),
      [
        ['PER', 'Jordan', ['slm']],
        ['LOC', 'Paris', ['tagger-llm']],
      ],
    );
    assert.deepEqual(stats.decided, { agree: 2, slm: 1, llm: 1 });
    // Scores: the SLM marginal of B-PER for Jordan, the LLM's category P for Paris.
    assert.ok(Math.abs((out.entities[0].score as number) - 0.97) < 1e-9);
    assert.ok(Math.abs((out.entities[1].score as number) - 0.95) < 1e-9);
    assert.equal(stats.logprobs, true);
    assert.equal(stats.fallback, undefined);
    const body = srv.requests[before].body;
    assert.equal(body.logprobs, true);
    assert.equal(body.top_logprobs, 5);
    assert.equal(lastUser(srv.requests[before].messages), SENTENCE);
  });

  it('with boundary probabilities the same answer gives a different decision', async () => {
    replies = { [SENTENCE]: llmAnswer };
    const llm = new OpenAIEngine(modelConfig(srv.url), fastRetry);
    // Jordan's boundary P = mean(0.9 '<', 0.9 '</', 0.9 'Jordan') = 0.9: S_L = 0.5 e^0.9 = 1.23 > 0.90.
    const fusion = createFusion({ slm: tableSlm(slmTable), llm, lambda: 0.5, probability: 'boundary' });
    const { doc: out, stats } = await fusion.tagDocument(doc('d1', SENTENCE));
    assert.deepEqual(
      out.entities.map((e) => [e.type, e.text]),
      [
        ['LOC', 'Jordan'],
        ['LOC', 'Paris'],
      ],
    );
    assert.deepEqual(stats.decided, { agree: 2, slm: 0, llm: 2 });
  });

  it('falls back to the SLM alone when the LLM answers 500', async () => {
    replies = { [SENTENCE]: { status: 500, errorBody: { error: { message: 'boom' } } } };
    const llm = new OpenAIEngine(modelConfig(srv.url), fastRetry);
    const fusion = createFusion({ slm: tableSlm(slmTable), llm, lambda: 0.5 });
    const before = srv.requests.length;
    const { doc: out, stats } = await fusion.tagDocument(doc('d1', SENTENCE));
    assert.equal(srv.requests.length - before, 2, 'maxAttempts 2: one retry');
    assert.equal(stats.fallback, 'llm-error');
    assert.ok(stats.error && stats.error.length > 0);
    assert.deepEqual(
      out.entities.map((e) => [e.type, e.text]),
      [['PER', 'Jordan']],
    );
    assert.deepEqual(stats.decided, { agree: 3, slm: 1, llm: 0 });
  });

  it('an answer without logprobs cannot override the SLM', async () => {
    replies = { [SENTENCE]: llmAnswer.content };
    const llm = new OpenAIEngine(modelConfig(srv.url), fastRetry);
    const fusion = createFusion({ slm: tableSlm(slmTable), llm, lambda: 100 });
    const { doc: out, stats } = await fusion.tagDocument(doc('d1', SENTENCE));
    assert.equal(stats.logprobs, false);
    assert.equal(stats.llmEntities, 2);
    assert.equal(stats.llmEntitiesWithoutProbability, 2);
    assert.deepEqual(
      out.entities.map((e) => [e.type, e.text]),
      [['PER', 'Jordan']],
    );
  });

  it('without an LLM the answer is the SLM alone', async () => {
    const fusion = createFusion({ slm: tableSlm(slmTable), lambda: 1 });
    const { doc: out, stats } = await fusion.tagDocument(doc('d1', SENTENCE));
    assert.equal(stats.fallback, 'no-llm');
    assert.deepEqual(
      out.entities.map((e) => [e.type, e.text]),
      [['PER', 'Jordan']],
    );
  });

  it("lambda 'auto' needs tune(dev); tuning uses cached answers", async () => {
    replies = { [SENTENCE]: llmAnswer };
    const llm = new OpenAIEngine(modelConfig(srv.url), fastRetry);
    const fusion = createFusion({ slm: tableSlm(slmTable), llm, lambda: 'auto' });
    assert.equal(fusion.lambda, undefined);
    await assert.rejects(fusion.tagDocument(doc('d1', SENTENCE)), ConfigError);
    const dev = [
      doc('d1', SENTENCE, [
        ['Jordan', 'PER'],
        ['Paris', 'LOC'],
      ]),
    ];
    const before = srv.requests.length;
    const r = await fusion.tune(dev);
    assert.equal(
      srv.requests.length - before,
      1,
      'one model call per dev document, whatever the lambdas tried',
    );
    assert.equal(r.f1, 1);
    // Paris switches above 0.10/e^0.95, Jordan above 0.90/e^0.3: only between them is all right.
    assert.equal(fusion.lambda, r.lambda);
    assert.equal(fusion.lambdaOutside, r.lambdaOutside);
    assert.ok(r.lambda > 0.03 && r.lambda < 0.67, `lambda ${r.lambda}`);
    const { doc: out } = await fusion.tagDocument(doc('d1', SENTENCE));
    assert.deepEqual(
      out.entities.map((e) => [e.type, e.text]),
      [
        ['PER', 'Jordan'],
        ['LOC', 'Paris'],
      ],
    );
  });

  it('fusionEval reports SLM alone, LLM alone and fused, with who decided', async () => {
    const s2 = 'Smith met Merkel in Berlin .';
    replies = {
      [SENTENCE]: llmAnswer,
      [s2]: answer([
        ['<PER>', 0.9],
        ['Smith', 0.9],
        ['</PER>', 0.9],
        [' met', 0.9],
        // Unsure whether Merkel is an entity: 0.45 on opening a tag there, so P_out = 0.5.
        [' Merkel', 0.5, [[' <', 0.45]]],
        [' in ', 0.9],
        ['<LOC>', 0.9],
        ['Berlin', 0.9],
        ['</LOC>', 0.9],
        [' .', 0.9],
      ]),
    };
    const table = {
      ...slmTable,
      Smith: ['B-PER', 0.99],
      Merkel: ['B-PER', 0.99],
      Berlin: ['B-LOC', 0.99],
    } as Record<string, [string, number]>;
    const gold = [
      doc('d1', SENTENCE, [
        ['Jordan', 'PER'],
        ['Paris', 'LOC'],
      ]),
      doc('d2', s2, [
        ['Smith', 'PER'],
        ['Merkel', 'PER'],
        ['Berlin', 'LOC'],
      ]),
    ];
    const llm = new OpenAIEngine(modelConfig(srv.url), fastRetry);
    const report = await fusionEval(gold, createFusion({ slm: tableSlm(table), llm, lambda: 0.5 }));
    assert.equal(report.documents, 2);
    // SLM: 4 of 5 right, nothing wrong. LLM: Jordan as LOC (fp+fn), Merkel missed: tp 3 fp 1 fn 2.
    assert.deepEqual([report.slm.strict.tp, report.slm.strict.fp, report.slm.strict.fn], [4, 0, 1]);
    assert.ok(Math.abs(report.slm.strict.f1 - 8 / 9) < 1e-12);
    assert.ok(report.llm);
    assert.deepEqual([report.llm.strict.tp, report.llm.strict.fp, report.llm.strict.fn], [3, 1, 2]);
    assert.equal(report.fused.strict.f1, 1);
    // Token macro F1, types PER and LOC. SLM: PER 1, LOC p 1 r 1/2 -> 2/3. Macro 5/6.
    assert.ok(Math.abs(report.slm.tokenMacro.f1 - 5 / 6) < 1e-12);
    // LLM: PER tp 1 fn 2 -> 1/2; LOC tp 2 fp 1 -> 4/5. Macro 13/20.
    assert.ok(Math.abs(report.llm.tokenMacro.f1 - 13 / 20) < 1e-12);
    assert.equal(report.fused.tokenMacro.f1, 1);
    // d1: visited . agree, Jordan SLM, Paris LLM; d2: five agree, Merkel SLM: the LLM left it
    // outside with P_out 0.5, S_L = 0.5 e^0.5 = 0.82 below the SLM's S_S 0.96.
    assert.deepEqual(report.decided, { agree: 7, slm: 2, llm: 1 });
    assert.deepEqual(report.decisions, {
      type: { slm: 1, llm: 0 },
      boundary: { slm: 0, llm: 0 },
      llmOnly: { slm: 0, llm: 1 },
      slmOnly: { slm: 1, llm: 0 },
    });
    assert.deepEqual(report.fallbacks, { 'no-llm': 0, 'llm-error': 0 });
  });

  it('sends a long document in sentence pieces and maps each answer back', async () => {
    const s1 = 'Jordan visited Paris .';
    const s2 = 'Smith stayed home .';
    const text = `${s1} ${s2}`;
    replies = {
      [s1]: llmAnswer,
      [s2]: answer([
        ['<PER>', 0.9],
        ['Smith', 0.9],
        ['</PER>', 0.9],
        [' stayed home .', 0.9],
      ]),
    };
    const llm = new OpenAIEngine(modelConfig(srv.url), fastRetry);
    const table = { ...slmTable, Smith: ['O', 0.4] } as Record<string, [string, number]>;
    const fusion = createFusion({ slm: tableSlm(table), llm, lambda: 0.5, maxChars: 25 });
    const before = srv.requests.length;
    const { doc: out, stats } = await fusion.tagDocument(doc('long', text));
    assert.deepEqual(
      srv.requests.slice(before).map((r) => lastUser(r.messages)),
      [s1, s2],
    );
    assert.deepEqual(
      out.entities.map((e) => [e.type, e.text, e.start]),
      [
        ['PER', 'Jordan', 0],
        ['LOC', 'Paris', 15],
        ['PER', 'Smith', 23],
      ],
    );
    for (const e of out.entities) assert.equal(text.slice(e.start, e.end), e.text);
    assert.deepEqual(stats.decided, { agree: 5, slm: 1, llm: 2 });
    assert.equal(stats.llmEntities, 3);
  });

  it('over the wire: a whole LLM entity wins a boundary conflict, a confident O removes an unsure SLM entity', async () => {
    const s1 = 'Seoul- Incheon is busy .';
    const s2 = 'Korea won .';
    const text = `${s1} ${s2}`;
    replies = {
      [s1]: answer([
        ['<', 0.95],
        ['LOC', 0.9],
        ['>', 0.99],
        ['Seoul', 0.95],
        ['-', 0.9],
        [' Inch', 0.8],
        ['eon', 0.99],
        ['</', 0.9],
        ['LOC', 0.99],
        ['>', 0.99],
        [' is', 0.95, [[' <', 0.03]]],
        [' busy', 0.97],
        [' .', 0.99],
      ]),
      // The LLM tags nothing here and gave 0.04 to opening a tag before Korea: P_out = 0.95.
      [s2]: answer([
        ['Korea', 0.95, [['<', 0.04]]],
        [' won', 0.99],
        [' .', 0.99],
      ]),
    };
    // The SLM splits Seoul- Incheon in two LOC entities (unsure on Incheon) and calls Korea a
    // person, unsure (S_S 0.10).
    const table = {
      'Seoul-': ['B-LOC', 0.9],
      Incheon: ['B-LOC', 0.6],
      Korea: ['B-PER', 0.4],
    } as Record<string, [string, number]>;
    const llm = new OpenAIEngine(modelConfig(srv.url), fastRetry);
    // Two pieces, so the outside probabilities of the second are mapped back to document tokens.
    const fusion = createFusion({ slm: tableSlm(table), llm, lambda: 0.5, maxChars: 25 });
    const wdoc = { id: 'w', text, entities: [], tokens: alignTokens(text, text.split(' ')) };
    const { doc: out, stats } = await fusion.tagDocument(wdoc);
    assert.deepEqual(
      out.entities.map((e) => [e.type, e.text, e.sources?.map((x) => x.model)]),
      [['LOC', 'Seoul- Incheon', ['tagger-llm']]],
    );
    assert.deepEqual(stats.decisions, {
      type: { slm: 0, llm: 0 },
      boundary: { slm: 0, llm: 1 },
      llmOnly: { slm: 0, llm: 0 },
      slmOnly: { slm: 0, llm: 1 },
    });
    // Incheon (B-LOC against I-LOC) and Korea are the disputed tokens.
    assert.deepEqual(stats.decided, { agree: 6, slm: 0, llm: 2 });
    // A small lambda is the SLM again: two LOC entities and the person.
    const small = fusion.fuse(await fusion.analyse(wdoc), 0.01);
    assert.deepEqual(
      small.doc.entities.map((e) => [e.type, e.text]),
      [
        ['LOC', 'Seoul-'],
        ['LOC', 'Incheon'],
        ['PER', 'Korea'],
      ],
    );
  });

  it('puts retrieved demonstrations in the prompt, queried with the SLM entities', async () => {
    const pool = [
      doc('p1', 'Obama visited London .', [
        ['Obama', 'PER'],
        ['London', 'LOC'],
      ]),
      doc('p2', 'Shares fell sharply on Monday .'),
    ];
    const retriever = await DemonstrationRetriever.build(pool, { embedder: new LexicalEmbedder() });
    const seen: string[][] = [];
    const spy = {
      retrieve: ((spans, text, opts) => {
        seen.push(spans.map((s) => s.text));
        return retriever.retrieve(spans, text, opts);
      }) as DemonstrationRetriever['retrieve'],
      sentence: (i: number) => retriever.sentence(i),
    };
    replies = { [SENTENCE]: llmAnswer };
    const llm = new OpenAIEngine(modelConfig(srv.url), fastRetry);
    const fusion = createFusion({
      slm: tableSlm(slmTable),
      llm,
      lambda: 0.5,
      retriever: demonstrationsFromRetriever(spy, { mode: 'sentence-embedding', k: 1 }),
    });
    const before = srv.requests.length;
    await fusion.tagDocument(
      doc('d1', SENTENCE, [
        ['Jordan', 'PER'],
        ['Paris', 'LOC'],
      ]),
    );
    assert.deepEqual(seen, [['Jordan']], 'the SLM entities, not the gold ones');
    const msgs = srv.requests[before].messages;
    assert.deepEqual(
      msgs.slice(1).map((m) => m.content),
      ['Obama visited London .', '<PER>Obama</PER> visited <LOC>London</LOC> .', SENTENCE],
    );
  });
});

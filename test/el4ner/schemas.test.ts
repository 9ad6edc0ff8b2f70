/**
 * Schemas that servers accept: every answer schema passes the rules of OpenAI strict structured
 * outputs and node-llama-cpp's JSON-schema grammar (test/support/schema-rules.ts); node-llama-cpp
 * really compiles each to a grammar whose parser takes a valid answer and refuses a broken one;
 * the requests sent over HTTP carry them with `strict: true`, and `max_tokens` sized from the
 * items asked, never below the model's own maxTokens.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import type { NerDocument } from '../../src/core/types.js';
import { typeAnswerSchema } from '../../src/el4ner/stages/classify.js';
import { spanAnswerSchema } from '../../src/el4ner/stages/extract.js';
import { jointAnswerSchema } from '../../src/el4ner/stages/joint.js';
import { verifyAnswerSchema } from '../../src/el4ner/stages/verify.js';
import { acquireLlama, releaseLlama } from '../../src/engines/llama-cpp/runtime.js';
import type { JsonSchema } from '../../src/engines/types.js';
import { pipelineFor } from '../support/method.js';
import { oracleConfig, schemaName } from '../support/oracle-server.js';
import { llamaGrammarProblems, openAiStrictProblems } from '../support/schema-rules.js';
import { type SmallModelServer, startSmallModelServer } from '../support/small-model-server.js';
import { conllDir, readJsonl, repoRoot } from './helpers.js';

const labelSets = readdirSync(path.join(repoRoot, 'examples/configs'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => ({ name: f, labels: loadConfig(path.join(repoRoot, 'examples/configs', f)).labels ?? [] }));

function schemas(): Array<{ name: string; schema: JsonSchema }> {
  return [
    { name: 'spans', schema: spanAnswerSchema },
    { name: 'verdicts', schema: verifyAnswerSchema },
    ...labelSets.flatMap(({ name, labels }) => [
      { name: `types (${name})`, schema: typeAnswerSchema(labels) },
      { name: `entities (${name})`, schema: jointAnswerSchema(labels) },
    ]),
  ];
}

// What the schemas were before (optional fields, no additionalProperties, `minimum`, `anyOf`).
const earlier: JsonSchema = {
  type: 'object',
  properties: {
    spans: {
      type: 'array',
      items: {
        anyOf: [
          { type: 'string' },
          {
            type: 'object',
            properties: { text: { type: 'string' }, occurrence: { type: 'integer', minimum: 1 } },
            required: ['text'],
          },
        ],
      },
    },
  },
  required: ['spans'],
};

describe('answer schemas', () => {
  it('pass the rules of OpenAI strict structured outputs and of the node-llama-cpp grammar', () => {
    for (const { name, schema } of schemas()) {
      assert.deepEqual(openAiStrictProblems(schema), [], name);
      assert.deepEqual(llamaGrammarProblems(schema), [], name);
    }
  });

  it('the rule checkers refuse what the servers refuse', () => {
    const strict = openAiStrictProblems(earlier);
    assert.ok(
      strict.some((p) => /additionalProperties must be false/.test(p)),
      strict.join('\n'),
    );
    assert.ok(strict.some((p) => /"occurrence" is not required/.test(p)));
    assert.ok(strict.some((p) => /keyword "minimum"/.test(p)));
    const llama = llamaGrammarProblems(earlier);
    assert.ok(
      llama.some((p) => /keyword "anyOf"/.test(p)),
      llama.join('\n'),
    );
    assert.ok(llama.some((p) => /keyword "minimum"/.test(p)));
    assert.ok(openAiStrictProblems({ anyOf: [{ type: 'object' }] }).some((p) => /root/.test(p)));
  });

  it('node-llama-cpp compiles each to a grammar that takes a valid answer and refuses a broken one', async () => {
    const opts = { gpu: false, build: 'never' } as const;
    const llama = await acquireLlama(opts);
    try {
      const cases: Array<[JsonSchema, unknown, unknown]> = [
        [
          spanAnswerSchema,
          {
            spans: [
              { text: 'Obama', occurrence: null },
              { text: 'Paris', occurrence: 2 },
            ],
          },
          { spans: [{ text: 'Obama' }] },
        ],
        [typeAnswerSchema(['LOC', 'PER']), { answers: [{ id: 1, type: 'none' }] }, { answers: [{ id: 1 }] }],
        [
          verifyAnswerSchema,
          { answers: [{ id: 1, answer: 'no' }] },
          { answers: [{ id: 1, answer: 'yes', x: 1 }] },
        ],
        [
          jointAnswerSchema(['GPE.NAM', 'PER.NOM']),
          { entities: [{ text: '北京', type: 'GPE.NAM', occurrence: null }] },
          { entities: [{ text: '北京', type: 'GPE.NAM' }] },
        ],
      ];
      for (const [schema, good, bad] of cases) {
        // biome-ignore lint/suspicious/noExplicitAny: our JsonSchema type is looser than GbnfJsonSchema
        const grammar = await llama.createGrammarForJsonSchema(schema as any);
        assert.deepEqual(grammar.parse(JSON.stringify(good)), good);
        assert.throws(() => grammar.parse(JSON.stringify(bad)));
      }
      // The generated grammar allows exactly the labels and none as types (its parser alone does
      // not check an enum next to `type: string`; the grammar that constrains decoding does).
      // biome-ignore lint/suspicious/noExplicitAny: as above
      const g = await llama.createGrammarForJsonSchema(typeAnswerSchema(['LOC', 'PER.NAM']) as any);
      const literals = [...g.grammar.matchAll(/^val\d+ ::= "\\"(.*)\\""$/gm)].map((m) => m[1]);
      assert.deepEqual(literals.sort(), ['LOC', 'PER.NAM', 'none']);
    } finally {
      releaseLlama(opts);
    }
  });
});

describe('requests over HTTP', () => {
  // One document of whole sentences packed up to 1,500 characters, dense with entities.
  const dense = readJsonl(path.join(conllDir, 'dev.jsonl'))
    .filter((d) => d.entities.length >= 4)
    .sort((a, b) => b.entities.length / b.text.length - a.entities.length / a.text.length);
  const doc: NerDocument = { id: 'dense', text: '', entities: [] };
  for (const d of dense) {
    if (doc.text.length + d.text.length + 1 > 1500) continue;
    const at = doc.text.length ? doc.text.length + 1 : 0;
    doc.text = doc.text ? `${doc.text}\n${d.text}` : d.text;
    doc.entities.push(...d.entities.map((e) => ({ ...e, start: e.start + at, end: e.end + at })));
  }
  let server: SmallModelServer;
  before(async () => {
    server = await startSmallModelServer({
      gold: [doc],
      rate: 0,
      noise: { miss: 0, spurious: 0, wrongType: 0, falseType: 0, wrongVerdict: 0 },
    });
  });
  after(() => server.close());

  it('carry strict schemas, and max_tokens sized from the items, never below the model default', async () => {
    assert.ok(doc.entities.length >= 40, `${doc.entities.length} entities in ${doc.text.length} characters`);
    const p = await pipelineFor({ config: oracleConfig(server.url, ['m'], { maxChars: 1500 }) });
    const r = await p.evaluate([doc]);
    await p.close();
    assert.equal(r.sentences, 1);
    assert.equal(r.final.micro.f1, 1, JSON.stringify(r.final.micro));
    assert.equal(server.stats.cutAtMaxTokens, 0, 'no answer was cut');
    assert.equal(server.stats.reasks, 0);
    const sent = server.requests.filter((q) => q.path === '/v1/chat/completions');
    const byKind = new Map(sent.map((q) => [schemaName(q), q]));
    for (const q of sent) {
      const rf = q.body.response_format;
      assert.equal(rf.type, 'json_schema');
      assert.equal(rf.json_schema.strict, true);
      assert.deepEqual(openAiStrictProblems(rf.json_schema.schema), []);
      assert.ok(q.body.max_tokens >= 512, `${schemaName(q)}: ${q.body.max_tokens}`);
    }
    // the extraction answer of this chunk does not fit in 512 tokens: the request asks for more
    const answerChars = JSON.stringify({
      spans: doc.entities.map((e) => ({ text: e.text, occurrence: null })),
    }).length;
    assert.ok(answerChars / 4 > 512, `the premise: ${answerChars} characters of answer`);
    assert.ok(
      byKind.get('spans')!.body.max_tokens * 4 >= answerChars,
      String(byKind.get('spans')!.body.max_tokens),
    );
    assert.ok(byKind.get('types')!.body.max_tokens >= 512);
  });

  it('a model configured with a larger maxTokens keeps it', async () => {
    const cfg = oracleConfig(server.url, ['m'], { maxChars: 1500 });
    cfg.models[0].maxTokens = 4096;
    const n0 = server.requests.length;
    const p = await pipelineFor({ config: cfg });
    await p.run([doc]);
    await p.close();
    for (const q of server.requests.slice(n0)) assert.equal(q.body.max_tokens, 4096);
  });
});

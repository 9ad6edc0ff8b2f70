/**
 * The answer resolver over the engines production uses (createEngines: real HTTP, the SQLite
 * response cache, the cost ledger): lenient reading first, re-ask only when nothing is usable.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SchemaError } from '../../src/answers/errors.js';
import { type AnswerReader, looksCut, reaskMessage, resolveAnswer } from '../../src/answers/resolve.js';
import { parseConfig } from '../../src/config/load.js';
import { createEngines, type EngineSet } from '../../src/engines/registry.js';
import type { ChatRequest } from '../../src/engines/types.js';
import { type ScriptedServer, scriptByModel, startScriptedServer } from '../support/scripted-server.js';

/** Reads {"entities": [string...]}; items that are not strings are dropped (a repair). */
const entities: AnswerReader<string[]> = {
  read(json) {
    const arr = Array.isArray(json) ? json : (json as { entities?: unknown } | null)?.entities;
    if (!Array.isArray(arr)) return { repairs: [], problem: 'no list of entities' };
    const names = arr.filter((x): x is string => typeof x === 'string');
    return {
      value: names,
      repairs: names.length < arr.length ? [`dropped ${arr.length - names.length} item(s)`] : [],
    };
  },
  validate: (v) => (v.every((x) => x.trim() !== '') ? undefined : 'an empty entity'),
};

const ask = (content: string): ChatRequest => ({
  messages: [
    { role: 'system', content: 'Extract entities.' },
    { role: 'user', content },
  ],
  jsonSchema: { name: 'entities', schema: { type: 'object', properties: { entities: { type: 'array' } } } },
  stage: 'extract',
});

describe('resolveAnswer over createEngines', () => {
  let srv: ScriptedServer;
  let set: EngineSet;
  let garbage = true;
  before(async () => {
    srv = await startScriptedServer({
      chat: scriptByModel({
        learner: (r) => (r.messages.length > 2 ? { json: { entities: ['Paris'] } } : 'The entity is Paris.'),
        stubborn: () => 'I would rather not say.',
        chatty: () => 'Sure:\n```json\n{"entities": ["EU", 42,],}\n```\nHope this helps!',
        bare: () => '["Obama"]',
        flaky: () => (garbage ? 'no idea' : '{"entities": ["Rome"]}'),
        // stops at max_tokens (four characters a token), as servers do
        cutter: (r) => '{"entities": ["Paris", "Rome", "Berlin"]}'.slice(0, 4 * Number(r.body.max_tokens)),
      }),
    });
    const dir = mkdtempSync(join(tmpdir(), 'el4ner-resolve-'));
    const models = ['learner', 'stubborn', 'chatty', 'bare', 'flaky', 'cutter'].map((name) => ({
      name,
      engine: 'openai',
      baseUrl: srv.url,
      model: name,
      maxAttempts: 1,
      server: 'openai',
    }));
    set = await createEngines(parseConfig({ models, cache: { path: join(dir, 'cache.sqlite') } }));
  });
  after(async () => {
    await set.close();
    await srv.close();
  });

  it('reads JSON out of prose and fences, drops bad items, and asks only once', async () => {
    const n0 = srv.requests.length;
    const r = await resolveAnswer(set.engines.get('chatty')!, ask('EU rules.'), entities);
    assert.deepEqual(r.value, ['EU']);
    assert.equal(srv.requests.length - n0, 1);
    assert.equal(r.requests, 1);
    assert.ok(r.repairs.some((x) => /out of surrounding text/.test(x)));
    assert.ok(r.repairs.some((x) => /dropped 1 item/.test(x)));
  });

  it('accepts a bare array for the wrapping object without asking again', async () => {
    const r = await resolveAnswer(set.engines.get('bare')!, ask('Obama spoke.'), entities);
    assert.deepEqual(r.value, ['Obama']);
    assert.equal(r.requests, 1);
  });

  it('re-asks once with the problem when nothing is usable, and says so', async () => {
    const n0 = srv.requests.length;
    const r = await resolveAnswer(set.engines.get('learner')!, ask('I love Paris.'), entities);
    assert.deepEqual(r.value, ['Paris']);
    const sent = srv.requests.slice(n0);
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1].messages[2], { role: 'assistant', content: 'The entity is Paris.' });
    assert.equal(sent[1].messages[3].content, reaskMessage('it contains no JSON'));
    assert.ok(r.repairs.some((x) => /asked again/.test(x)));
  });

  it('gives up with a SchemaError naming the model after the re-ask', async () => {
    await assert.rejects(
      resolveAnswer(set.engines.get('stubborn')!, ask('Paris.'), entities),
      (e: unknown) => {
        assert.ok(e instanceof SchemaError);
        assert.equal(e.model, 'stubborn');
        assert.match(e.message, /no usable answer after 2 request\(s\): it contains no JSON/);
        return true;
      },
    );
  });

  it('asks again with twice the maxTokens when the answer stops inside its JSON', async () => {
    const n0 = srv.requests.length;
    const r = await resolveAnswer(
      set.engines.get('cutter')!,
      { ...ask('Capitals.'), maxTokens: 6 },
      entities,
    );
    assert.deepEqual(r.value, ['Paris', 'Rome', 'Berlin']);
    assert.deepEqual(
      srv.requests.slice(n0).map((q) => q.body.max_tokens),
      [6, 12],
    );
    assert.equal(looksCut('{"entities": ["Par'), true);
    assert.equal(looksCut('Sure: {"entities": []} done'), false);
    assert.equal(looksCut('no JSON here'), false);
  });

  it('asks past the cache when a stored answer is unusable, and stores the good one', async () => {
    garbage = true;
    const first = resolveAnswer(set.engines.get('flaky')!, ask('Rome.'), entities);
    await assert.rejects(first, SchemaError);
    garbage = false;
    const n0 = srv.requests.length;
    // the unusable first answer is in the cache: the resolver refreshes it instead of trusting it
    const r = await resolveAnswer(set.engines.get('flaky')!, ask('Rome.'), entities);
    assert.deepEqual(r.value, ['Rome']);
    assert.equal(srv.requests.length - n0, 1);
    const again = await resolveAnswer(set.engines.get('flaky')!, ask('Rome.'), entities);
    assert.deepEqual(again.value, ['Rome']);
    assert.equal(again.response.fromCache, true);
    assert.equal(srv.requests.length - n0, 1);
  });
});

/**
 * The assembly seam builds every method the same way; each case here failed when the wiring was
 * written once per method: (a) the demonstration index folder under `--cache`, (b) the number of
 * demonstrations, (c) `maxChars` for fusion, (d) query-time retrieval settings over an index folder.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMethod } from '../../src/assemble/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { NerDocument } from '../../src/core/types.js';
import type { ChatRequest, ChatResponse, Engine } from '../../src/engines/types.js';
import { markInline } from '../../src/fusion/inline-tagging.js';
import { LexicalEmbedder } from '../../src/retrieval/embedders.js';
import { buildOrLoadIndex } from '../../src/retrieval/index.js';
import { trainCrf } from '../../src/slm/tagger.js';
import { sharedDocs } from '../fusion/helpers.js';
import { goldByText, oracleEngine } from '../support/oracle.js';

const model = (name: string) => ({ name, engine: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: name });

/** An inline-tagging LLM that echoes gold and records what it was asked. */
function inlineEcho(gold: readonly NerDocument[]): Engine & { requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  return {
    name: 'llm',
    identity: 'echo',
    requests,
    async chat(req): Promise<ChatResponse> {
      requests.push(req);
      const text = req.messages.at(-1)?.content ?? '';
      const doc = gold.find((d) => d.text === text);
      const content = doc ? markInline(doc.text, doc.entities) : text;
      return {
        text: content,
        logprobs: [{ token: content, logprob: -0.01 }],
        usage: { promptTokens: 1, completionTokens: 1, cachedPromptTokens: 0 },
        latencyMs: 0,
      };
    },
    embed: () => Promise.reject(new Error('no embeddings')),
    close: async () => {},
  };
}

describe('one assembly seam for every method', () => {
  let dir: string;
  let crfFile: string;
  let poolFile: string;
  const pool = sharedDocs('conll2003', 'train', 120);
  const queries = sharedDocs('conll2003', 'dev', 6).filter((d) => d.entities.length > 0);

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-wiring-'));
    crfFile = path.join(dir, 'crf.model');
    await (await trainCrf(pool.slice(0, 60), { maxIterations: 10 })).save(crfFile);
    poolFile = path.join(dir, 'pool.jsonl');
    // the queries are in the pool too: a pool sentence identical to the query is never its demonstration
    writeFileSync(poolFile, [...pool, ...queries].map((d) => JSON.stringify(d)).join('\n'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('(a) with --cache, EL4NER and fusion index the pool in one folder beside that cache', async () => {
    const cacheDir = path.join(dir, 'cache-a');
    const cachePath = path.join(cacheDir, 'responses.sqlite');
    const byText = goldByText([...pool, ...queries]);
    const el4ner = await createMethod(
      parseConfig({
        models: [model('a')],
        labels: ['LOC', 'MISC', 'ORG', 'PER'],
        pool: poolFile,
        cache: { enabled: false },
      }),
      { engines: new Map([['a', oracleEngine('a', byText)]]), cachePath, log: () => {} },
    );
    await el4ner.close();
    const folders = () => readdirSync(cacheDir).filter((f) => f.startsWith('index-'));
    assert.deepEqual(folders(), ['index-pool.jsonl']);
    const manifest = path.join(cacheDir, 'index-pool.jsonl', 'manifest.json');
    const built = statSync(manifest).mtimeMs;
    const fusion = await createMethod(
      parseConfig({
        models: [model('llm')],
        pool: poolFile,
        fusion: { slm: crfFile, llm: 'llm', lambda: 1 },
        cache: { enabled: false },
      }),
      { engines: new Map([['llm', inlineEcho(queries)]]), cachePath, log: () => {} },
    );
    await fusion.close();
    assert.deepEqual(folders(), ['index-pool.jsonl'], 'fusion reuses the EL4NER index folder');
    assert.equal(statSync(manifest).mtimeMs, built, 'and does not rebuild it');
  });

  it('(b) EL4NER and fusion both get k demonstrations when the query sentence is in the pool', async () => {
    const k = 3;
    const byText = goldByText([...pool, ...queries]);
    const el4ner = await createMethod(
      parseConfig({
        models: [model('a')],
        labels: ['LOC', 'MISC', 'ORG', 'PER'],
        pool: poolFile,
        retrieval: { k },
      }),
      { engines: new Map([['a', oracleEngine('a', byText)]]), noCache: true, log: () => {} },
    );
    const r = await el4ner.tag(queries);
    await el4ner.close();
    for (const t of r.traces as Array<{ demos: string[] }>) assert.equal(t.demos.length, k);
    const llm = inlineEcho(queries);
    const fusion = await createMethod(
      parseConfig({
        models: [model('llm')],
        pool: poolFile,
        retrieval: { k },
        fusion: { slm: crfFile, llm: 'llm', lambda: 1 },
      }),
      { engines: new Map([['llm', llm]]), noCache: true, log: () => {} },
    );
    await fusion.tag(queries);
    await fusion.close();
    assert.equal(llm.requests.length, queries.length);
    for (const req of llm.requests) {
      const demos = (req.messages.length - 2) / 2;
      assert.equal(demos, k);
      assert.ok(!req.messages.slice(1, -1).some((m) => m.content === req.messages.at(-1)?.content));
    }
  });

  it('(c) maxChars reaches fusion: a long document goes to the LLM in pieces', async () => {
    const text = queries.map((q) => q.text).join(' ');
    const doc: NerDocument = { id: 'long', text, entities: [] };
    const llm = inlineEcho(queries);
    const fusion = await createMethod(
      parseConfig({ models: [model('llm')], maxChars: 120, fusion: { slm: crfFile, llm: 'llm', lambda: 1 } }),
      { engines: new Map([['llm', llm]]), noCache: true, log: () => {} },
    );
    await fusion.tag([doc]);
    await fusion.close();
    assert.ok(text.length > 120);
    assert.ok(llm.requests.length > 1, `${llm.requests.length} request(s)`);
    for (const req of llm.requests) assert.ok((req.messages.at(-1)?.content.length ?? 0) <= 120);
  });

  it('(d) an index folder built with other POS weights is queried with the configured ones, and it says so', async () => {
    const docs: NerDocument[] = [
      { id: 'propn', text: 'Paris is big .', entities: [{ start: 0, end: 5, type: 'LOC', text: 'Paris' }] },
      { id: 'noun', text: 'The city is big .', entities: [{ start: 4, end: 8, type: 'LOC', text: 'city' }] },
    ];
    const folder = path.join(dir, 'index-d');
    const file = path.join(dir, 'pool-d.jsonl');
    writeFileSync(file, docs.map((d) => JSON.stringify(d)).join('\n'));
    const propnOnly = { PROPN: 1, NOUN: 0, PRON: 0, other: 0 };
    const nounOnly = { PROPN: 0, NOUN: 1, PRON: 0, other: 0 };
    await buildOrLoadIndex({ poolFile: file }, folder, {
      embedder: new LexicalEmbedder(),
      weights: propnOnly,
    });
    const query: NerDocument = {
      id: 'q',
      text: 'Paris is a city .',
      entities: [
        { start: 0, end: 5, type: 'LOC', text: 'Paris' },
        { start: 11, end: 15, type: 'LOC', text: 'city' },
      ],
    };
    const demoOf = async (weights?: typeof nounOnly) => {
      const logs: string[] = [];
      const m = await createMethod(
        parseConfig({
          models: [model('a')],
          labels: ['LOC'],
          pool: folder,
          retrieval: { k: 1, ...(weights ? { weights } : {}) },
        }),
        {
          engines: new Map([['a', oracleEngine('a', goldByText([query]))]]),
          noCache: true,
          log: (l) => logs.push(l),
        },
      );
      const r = await m.tag([query]);
      await m.close();
      return { demo: (r.traces as Array<{ demos: string[] }>)[0].demos[0], logs };
    };
    const asBuilt = await demoOf();
    assert.equal(asBuilt.demo, 'propn', 'without retrieval.weights the index settings stand');
    const configured = await demoOf(nounOnly);
    assert.equal(configured.demo, 'noun', 'the configured weights decide');
    assert.ok(
      configured.logs.some((l) => /querying with the configured retrieval\.weights/.test(l)),
      configured.logs.join('\n'),
    );
  });
});

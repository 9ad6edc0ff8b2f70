/**
 * The library entry does what the CLI does: `createMethod` from the package's index takes the
 * CRF-only offline config and fails loudly when no model answers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CrfTagger, createMethod, loadConfig, NoAnswerError, trainCrf } from '../../src/index.js';
import { sharedDocs } from '../fusion/helpers.js';

describe('the library runs every config the CLI runs', () => {
  let dir: string;
  const test = sharedDocs('conll2003', 'dev', 15);
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-lib-'));
    await (await trainCrf(sharedDocs('conll2003', 'train', 150), { maxIterations: 20 })).save(
      path.join(dir, 'm.crf'),
    );
    writeFileSync(path.join(dir, 'offline.yaml'), 'fusion:\n  slm: m.crf\n');
    writeFileSync(
      path.join(dir, 'dead.yaml'),
      'models:\n  - {name: a, engine: openai, baseUrl: "http://127.0.0.1:9/v1", model: a, maxAttempts: 1, timeoutMs: 2000}\nlabels: [PER, LOC, ORG, MISC]\ncache: {enabled: false}\n',
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the CRF-only config tags with the exported CRF tagger', async () => {
    const method = await createMethod(loadConfig(path.join(dir, 'offline.yaml')), { log: () => {} });
    const crf = await CrfTagger.load(path.join(dir, 'm.crf'));
    try {
      assert.equal(method.info.kind, 'slm');
      const docs = await method.extract(test);
      assert.deepEqual(
        docs.map((d) => d.entities.map((e) => `${e.start}:${e.end}:${e.type}`)),
        crf
          .predictAll(test.map((d) => ({ id: d.id, text: d.text, tokens: d.tokens })))
          .map((p) => p.entities.map((e) => `${e.start}:${e.end}:${e.type}`)),
      );
      assert.ok(docs.some((d) => d.entities.length > 0));
    } finally {
      await method.close();
    }
  });

  it('throws when no model answers instead of returning empty documents', async () => {
    const method = await createMethod(loadConfig(path.join(dir, 'dead.yaml')), { log: () => {} });
    try {
      await assert.rejects(method.extract('Barack Obama visited Paris.'), NoAnswerError);
    } finally {
      await method.close();
    }
  });
});

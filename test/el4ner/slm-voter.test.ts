import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { readDocuments } from '../../src/formats/index.js';
import { trainCrf } from '../../src/slm/tagger.js';
import { pipelineFor } from '../support/method.js';
import { goldByText, oracleEngine } from '../support/oracle.js';
import { conllDir, readJsonl } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'el4ner-slm-voter-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('fusion.voter loads the CRF of fusion.slm and lets it vote in the ensemble', async () => {
  const train = (await readDocuments(path.join(conllDir, 'train.jsonl'))).slice(0, 150);
  const tagger = await trainCrf(train, { maxIterations: 30 });
  const model = path.join(dir, 'crf.model');
  await tagger.save(model);
  // The backbones answer for the training sentences, which the CRF fits well.
  const docs = readJsonl(path.join(conllDir, 'train.jsonl'), 20).filter((d) => d.entities.length > 0);
  const byText = goldByText(docs);
  const engines = new Map([
    ['a', oracleEngine('a', byText)],
    ['b', oracleEngine('b', byText)],
  ]);
  const config = parseConfig({
    models: ['a', 'b'].map((name) => ({
      name,
      engine: 'openai',
      baseUrl: 'http://127.0.0.1:9/v1',
      model: name,
    })),
    labels: ['LOC', 'MISC', 'ORG', 'PER'],
    fusion: { slm: model, voter: true },
  });
  const p = await pipelineFor({ config, engines, log: () => {} });
  const report = await p.evaluate(docs);
  assert.ok(report.extraction.perModel.crf, 'the CRF appears as an extractor');
  assert.ok(report.extraction.perModel.crf.spanRecall > 0.5, JSON.stringify(report.extraction.perModel.crf));
  const out = await p.extract(docs);
  const votes = out
    .flatMap((d) => d.entities.flatMap((e) => e.sources ?? []))
    .filter((s) => s.model === 'crf');
  assert.ok(votes.length > 0);
  assert.ok(votes.every((s) => s.stage === 'slm'));
  await p.close();
});

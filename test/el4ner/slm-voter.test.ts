import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { attachDocumentContext, type DocumentContext } from '../../src/core/context.js';
import { tokenize } from '../../src/core/tokenize.js';
import { readDocuments } from '../../src/formats/index.js';
import { CrfTagger, trainCrf } from '../../src/slm/tagger.js';
import { pipelineFor } from '../support/method.js';
import { goldByText, oracleEngine } from '../support/oracle.js';
import { conllDir, readJsonl } from './helpers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'el4ner-slm-voter-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A CRF trained on 150 CoNLL-2003 training sentences, written once for the tests of this file. */
let trained: Promise<string> | undefined;
function crfModel(): Promise<string> {
  trained ??= (async () => {
    const train = (await readDocuments(path.join(conllDir, 'train.jsonl'))).slice(0, 150);
    const model = path.join(dir, 'crf.model');
    await (await trainCrf(train, { maxIterations: 30 })).save(model);
    return model;
  })();
  return trained;
}

/** Two oracle backbones that answer for `docs`, and the CRF of `model` voting beside them. */
function voterSetup(model: string, docs: ReturnType<typeof readJsonl>) {
  const byText = goldByText(docs);
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
  const engines = () =>
    new Map([
      ['a', oracleEngine('a', byText)],
      ['b', oracleEngine('b', byText)],
    ]);
  return { config, engines };
}

it('fusion.voter loads the CRF of fusion.slm and lets it vote in the ensemble', async () => {
  // The backbones answer for the training sentences, which the CRF fits well.
  const docs = readJsonl(path.join(conllDir, 'train.jsonl'), 20).filter((d) => d.entities.length > 0);
  const { config, engines } = voterSetup(await crfModel(), docs);
  const p = await pipelineFor({ config, engines: engines(), log: () => {} });
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

it('with soft votes the CRF voter spreads its vote by its own span probabilities', async () => {
  const model = await crfModel();
  const crf = await CrfTagger.load(model);
  const docs = readJsonl(path.join(conllDir, 'train.jsonl'), 40).filter((d) => d.entities.length > 0);
  const { config, engines } = voterSetup(model, docs);
  assert.equal(config.decision.votes, 'soft', 'soft votes are the default');
  const p = await pipelineFor({ config, engines: engines(), log: () => {} });
  const report = await p.evaluate(docs);
  // The oracles answer without logprobs: every soft vote is the CRF's, one per union span.
  assert.ok(report.grounding.softVotes > 0, JSON.stringify(report.grounding));
  const out = await p.extract(docs);
  await p.close();
  let checked = 0;
  let unsure = 0;
  // The CRF reads the document context the pipeline gives it (the neighbouring sentences of the input).
  const contexts = attachDocumentContext(
    out.map((d): { text: string; context?: DocumentContext } => ({ text: d.text })),
  ).map((d) => d.context);
  for (const [i, d] of out.entries()) {
    const tokens = tokenize(d.text);
    for (const e of d.entities) {
      const models = new Set((e.sources ?? []).map((s) => s.model));
      if (!models.has('a') || !models.has('b')) continue;
      const start = tokens.findIndex((t) => t.start === e.start);
      const end = tokens.findIndex((t) => t.end === e.end) + 1;
      assert.ok(start >= 0 && end > start, `${e.text} lies on the tagger's tokens`);
      const q = crf.spanProbabilities(
        tokens.map((t) => t.text),
        [{ start, end }],
        contexts[i],
      )[0][e.type];
      // type-vote's score is the best type's mean probability over the three voters
      assert.ok(Math.abs((e.score ?? Number.NaN) - (2 + q) / 3) < 1e-6, `${e.text}: ${e.score} vs q ${q}`);
      checked++;
      if (q < 0.99) unsure++;
    }
  }
  assert.ok(checked > 20, `checked ${checked}`);
  assert.ok(unsure > 0, 'some entity the CRF is unsure of, so a hard vote would score otherwise');

  // With hard votes the same CRF votes one whole type: the scores are vote shares.
  const hard = parseConfig({ ...config, decision: { ...config.decision, votes: 'hard' } });
  const ph = await pipelineFor({ config: hard, engines: engines(), log: () => {} });
  const scores = (await ph.extract(docs)).flatMap((d) => d.entities.map((e) => e.score ?? Number.NaN));
  await ph.close();
  assert.ok(
    scores.every((s) => [1, 2 / 3, 1 / 3].some((x) => Math.abs(s - x) < 1e-6)),
    scores.join(' '),
  );
});

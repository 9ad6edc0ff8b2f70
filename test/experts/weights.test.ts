/**
 * Output merging by weighted voting with measured per-type reliability, over the real scripted
 * HTTP server: it beats hard voting when one voter is much worse, and equals it when all are equal.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createEngines } from '../../src/engines/registry.js';
import { measureExperts, reliabilityWeights } from '../../src/experts/performance.js';
import { pipelineFor } from '../support/method.js';
import type { Behaviour } from '../support/oracle.js';
import { type ScriptedServer, scriptByModel, startScriptedServer } from '../support/scripted-server.js';
import { cleanSample, dataDir, f1, openaiModel, oracleHandler, readJsonl } from './helpers.js';

const docs = cleanSample(readJsonl(path.join(dataDir, 'conll2003/dev.jsonl')), 20);
const indexOf = new Map(docs.map((d, i) => [d.text, i]));
const odd = (sentence: string) => (indexOf.get(sentence) ?? 0) % 2 === 1;

const good: Behaviour = {};
// Right on even sentences, every entity typed MISC on odd ones.
const half: Behaviour = { classify: (_s, gt, sentence) => (gt ? (odd(sentence) ? 'MISC' : gt) : 'none') };
// Every entity typed MISC.
const bad: Behaviour = { classify: (_s, gt) => (gt ? 'MISC' : 'none') };

// Entities 'half' gets wrong: the non-MISC ones of odd sentences.
const oddNonMisc = docs.reduce(
  (a, d, i) => a + (i % 2 === 1 ? d.entities.filter((e) => e.type !== 'MISC').length : 0),
  0,
);
const total = docs.reduce((a, d) => a + d.entities.length, 0);

describe('weighted voting with measured reliability', () => {
  let server: ScriptedServer;
  before(async () => {
    server = await startScriptedServer({
      chat: scriptByModel({
        good: oracleHandler(docs, good),
        half: oracleHandler(docs, half),
        half2: oracleHandler(docs, half),
        half3: oracleHandler(docs, half),
        bad: oracleHandler(docs, bad),
      }),
    });
  });
  after(() => server.close());

  const configFor = (names: string[], extra: Record<string, unknown> = {}) =>
    parseConfig({
      models: names.map((n) => openaiModel(server.url, n)),
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      stages: { verification: false },
      ...extra,
    });

  async function score(config: Config): Promise<number> {
    const engines = await createEngines(config, { noCache: true });
    const p = await pipelineFor({ config, engines, log: () => {} });
    try {
      return (await p.evaluate(docs)).final.micro.f1;
    } finally {
      await p.close();
      await engines.close();
    }
  }

  async function weightsFor(config: Config) {
    const engines = await createEngines(config, { noCache: true });
    try {
      const perf = await measureExperts({
        config,
        voters: config.models.map((m) => m.name),
        labelled: docs,
        engines: engines.engines,
        ledger: engines.ledger,
      });
      return { perf, weights: reliabilityWeights(perf) };
    } finally {
      await engines.close();
    }
  }

  it('the sample is usable: both kinds of sentences hold non-MISC entities', () => {
    assert.equal(docs.length, 20);
    assert.ok(oddNonMisc > 5 && oddNonMisc < total);
  });

  it('beats hard voting when one voter is much worse than the others', async () => {
    const config = configFor(['good', 'half', 'bad']);
    const { perf, weights } = await weightsFor(config);
    // measured alone: good is perfect, bad only gets the MISC entities right
    assert.equal(perf[0].f1, 1);
    assert.ok(perf[2].f1 < perf[1].f1 && perf[1].f1 < 1);
    assert.ok(weights.good.PER > weights.half.PER && weights.half.MISC > weights.bad.MISC);
    const hard = await score(config);
    // hard vote: half + bad outvote good (MISC 2:1) on the non-MISC entities of odd sentences
    assert.equal(hard, f1(total - oddNonMisc, oddNonMisc, oddNonMisc));
    const weighted = await score(
      parseConfig({
        ...config,
        voteWeights: weights,
        stages: { ...config.stages, classification: 'weighted-vote' },
      }),
    );
    assert.equal(weighted, 1);
    assert.ok(weighted > hard);
  });

  it('equals hard voting when all voters are equal', async () => {
    const config = configFor(['half', 'half2', 'half3']);
    const { weights } = await weightsFor(config);
    assert.deepEqual(weights.half, weights.half2);
    assert.deepEqual(weights.half, weights.half3);
    const hard = await score(config);
    const weighted = await score(
      parseConfig({
        ...config,
        voteWeights: weights,
        stages: { ...config.stages, classification: 'weighted-vote' },
      }),
    );
    const expected = f1(total - oddNonMisc, oddNonMisc, oddNonMisc);
    assert.equal(hard, expected);
    assert.equal(weighted, expected);
  });
});

/**
 * The decision after the vote: verification policies, the calibrated score with its run-time
 * threshold, and overlap resolution, through the pipeline `createMethod` builds (in-process
 * oracle backbones answering from CoNLL-2003 gold with scripted errors).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { mulberry32 } from '../../src/core/random.js';
import type { NerDocument } from '../../src/core/types.js';
import { calibratedScore, candidateFeatures, fitCalibration } from '../../src/el4ner/voting/calibration.js';
import { hasOverlaps, resolveOverlaps } from '../../src/el4ner/voting/overlaps.js';
import { pipelineFor } from '../support/method.js';
import { type Behaviour, goldByText, oracleEngine } from '../support/oracle.js';
import { conllDir, readJsonl } from './helpers.js';

const test = readJsonl(path.join(conllDir, 'test.jsonl'), 60).filter(
  (d) =>
    d.entities.length > 0 && d.entities.every((e) => d.text.indexOf(e.text) === d.text.lastIndexOf(e.text)),
);
const labels = ['LOC', 'MISC', 'ORG', 'PER'];
const models = (names: string[]) =>
  names.map((name) => ({ name, engine: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: name }));
const firstWord = (s: string) => s.split(' ')[0];

function engines(behaviours: Record<string, Behaviour>, docs: readonly NerDocument[] = test) {
  const byText = goldByText(docs);
  return new Map(Object.entries(behaviours).map(([n, b]) => [n, oracleEngine(n, byText, b)]));
}

/** Verification requests of one pass (`run` makes two: tag, then evaluate). */
const verifyRequests = (m: Map<string, ReturnType<typeof oracleEngine>>) => {
  const all = [...m.values()].flatMap((e) => e.requests).filter((r) => r.jsonSchema?.name === 'verdicts');
  return all.slice(0, all.length / 2);
};

async function run(
  config: Record<string, unknown>,
  es: Map<string, ReturnType<typeof oracleEngine>>,
  docs = test,
) {
  const p = await pipelineFor({
    config: parseConfig({ models: models([...es.keys()]), labels, ...config }),
    engines: es,
  });
  try {
    // one pass: the documents come from the same run the report scores
    const result = await p.run(docs);
    const report = await p.evaluate(docs);
    return { report, docs: result.docs };
  } finally {
    await p.close();
  }
}

// c adds the sentence's first word as a MISC entity (a minority candidate); the verifier v says
// no to everything, so whatever it is asked about goes under a veto.
const spurious: Behaviour = {
  extract: (g, s) => [...g.map((e) => e.text), firstWord(s)],
  classify: (span, gt, s) => gt ?? (span === firstWord(s) ? 'MISC' : 'none'),
};
const naysayer: Behaviour = { verify: () => false };

describe('verification policies', () => {
  it('selective: only the entities whose vote margin is below the threshold are asked about; a unanimous entity is never vetoed', async () => {
    const es = engines({ a: naysayer, b: {}, c: spurious });
    const { report } = await run(
      {
        backbones: ['a', 'b', 'c'],
        verifier: 'a',
        stages: { retrieval: 'none' },
        verification: { policy: 'selective', margin: 0 },
      },
      es,
    );
    // every gold entity is unanimous (margin 1): kept despite a verifier that says no to everything
    assert.equal(report.final.micro.r, 1);
    // c's first words (1 of 3 votes, margin -1/3) are asked about and vetoed
    assert.equal(report.final.micro.p, 1);
    const asked = verifyRequests(es);
    assert.ok(asked.length > 0);
    for (const r of asked) {
      const items = r.messages
        .at(-1)!
        .content.split('Entities:\n')[1]
        .split('\n')
        .filter((l) => /^\d+\. /.test(l));
      assert.equal(items.length, 1, 'only the minority candidate is listed');
    }
    const clear = test.filter((d) =>
      d.entities.some((e) => e.start === 0 && e.end === firstWord(d.text).length),
    );
    assert.equal(
      asked.length,
      test.length - clear.length,
      'no call for a sentence whose candidates are all clear',
    );
  });

  it('all (the paper): every decided entity is asked about, so the naysayer vetoes everything; off: no call', async () => {
    const all = engines({ a: naysayer, b: {}, c: spurious });
    const r = await run(
      {
        backbones: ['a', 'b', 'c'],
        verifier: 'a',
        stages: { retrieval: 'none' },
        verification: { policy: 'all' },
      },
      all,
    );
    assert.equal(r.report.final.micro.tp, 0);
    assert.equal(r.report.verification.policy, 'all');
    assert.equal(verifyRequests(all).length, test.length);
    const off = engines({ a: naysayer, b: {}, c: spurious });
    const o = await run(
      { backbones: ['a', 'b', 'c'], stages: { retrieval: 'none' }, verification: { policy: 'off' } },
      off,
    );
    assert.equal(verifyRequests(off).length, 0);
    assert.equal(o.report.verification.enabled, false);
    // stages.verification: false still switches it off, whatever the policy
    const sw = engines({ a: naysayer, b: {}, c: spurious });
    await run(
      {
        backbones: ['a', 'b', 'c'],
        stages: { retrieval: 'none', verification: false },
        verification: { policy: 'all' },
      },
      sw,
    );
    assert.equal(verifyRequests(sw).length, 0);
  });

  it('feature: the verdict moves the score instead of removing the entity', async () => {
    const es = engines({ a: naysayer, b: {}, c: spurious });
    const { report, docs } = await run(
      {
        backbones: ['a', 'b', 'c'],
        verifier: 'a',
        stages: { retrieval: 'none' },
        verification: { policy: 'all', use: 'feature' },
      },
      es,
    );
    assert.equal(report.verification.removed, 0);
    assert.equal(report.final.micro.r, 1);
    const gold = new Set(test.flatMap((d, i) => d.entities.map((e) => `${i}:${e.start}:${e.end}`)));
    for (const [i, d] of docs.entries())
      for (const e of d.entities) {
        // unanimous gold entity: (3 x 1 + a 'no') / 4 = 0.75; c's lone MISC: (3 x 1/3 + 0) / 4 = 0.25
        const want = gold.has(`${i}:${e.start}:${e.end}`) ? 0.75 : 0.25;
        assert.ok(Math.abs((e.score ?? 0) - want) < 1e-6, `${e.text}: ${e.score}`);
        assert.ok(e.sources?.some((s) => s.stage === 'verify' && s.type === 'none'));
      }
    // the score cut (`--threshold`) then removes what the verdict weakened
    const cut = await run(
      {
        backbones: ['a', 'b', 'c'],
        verifier: 'a',
        stages: { retrieval: 'none' },
        verification: { policy: 'all', use: 'feature' },
        decision: { minScore: 0.5 },
      },
      engines({ a: naysayer, b: {}, c: spurious }),
    );
    assert.equal(cut.report.final.micro.p, 1);
    assert.equal(cut.report.final.micro.r, 1);
    assert.ok(cut.report.cut.removed > 0);
  });
});

describe('the default decision', () => {
  // c and d both add the sentence's first word; the verifier a says no to everything.
  const firstWordAs = (type: string): Behaviour => ({
    ...spurious,
    classify: (span, gt, s) => gt ?? (span === firstWord(s) ? type : 'none'),
  });
  const notGoldFirstWord = test.filter(
    (d) => !d.entities.some((e) => e.start === 0 && e.end === firstWord(d.text).length),
  );

  it('two of three voters calling a span an entity but splitting over its type send it to the verifier', async () => {
    const es = engines({ a: naysayer, c: firstWordAs('MISC'), d: firstWordAs('ORG') });
    const { report } = await run(
      { backbones: ['a', 'c', 'd'], verifier: 'a', stages: { retrieval: 'none' } },
      es,
    );
    // the best type has a third of the votes: asked about and vetoed; the unanimous gold stays
    assert.equal(report.final.micro.p, 1);
    assert.equal(report.final.micro.r, 1);
    assert.equal(verifyRequests(es).length, notGoldFirstWord.length);
  });

  it('two of three agreeing on the type keep the span without asking the verifier', async () => {
    const es = engines({ a: naysayer, c: firstWordAs('MISC'), d: firstWordAs('MISC') });
    const { report } = await run(
      { backbones: ['a', 'c', 'd'], verifier: 'a', stages: { retrieval: 'none' } },
      es,
    );
    // a first word inside a longer gold entity loses to it (flat data); every other one stays
    assert.equal(report.final.micro.fp, test.filter((d) => !d.entities.some((e) => e.start === 0)).length);
    assert.equal(report.final.micro.r, 1);
    assert.equal(verifyRequests(es).length, 0);
  });
});

describe('calibrated score', () => {
  it('fits probabilities that match the frequencies it was fitted on', () => {
    const rand = mulberry32(7);
    const examples = Array.from({ length: 4000 }, () => {
      const strong = rand() < 0.5;
      // entities with a strong vote are right 90% of the time, the others 30%
      return { features: { bias: 1, typeShare: strong ? 1 : 0 }, correct: rand() < (strong ? 0.9 : 0.3) };
    });
    const model = fitCalibration(examples, { l2: 0.01 });
    assert.ok(Math.abs(calibratedScore(model, { bias: 1, typeShare: 1 }) - 0.9) < 0.03);
    assert.ok(Math.abs(calibratedScore(model, { bias: 1, typeShare: 0 }) - 0.3) < 0.03);
    // a feature the model never saw counts 0
    assert.equal(
      calibratedScore(model, { bias: 1, typeShare: 1, 'type:other': 1 }),
      calibratedScore(model, { bias: 1, typeShare: 1 }),
    );
  });

  it('features: unit votes per voter, entity and type shares, the verdict, overlaps and the label', () => {
    const f = candidateFeatures({
      type: 'PER',
      votes: [
        { voter: 'a', type: 'PER' },
        { voter: 'b', type: 'LOC' },
        { voter: 'c', type: 'none' },
      ],
      voters: ['a', 'b', 'c', 'd'],
      verdict: false,
      overlaps: true,
    });
    assert.deepEqual(f, {
      bias: 1,
      entityShare: 2 / 3,
      typeShare: 1 / 3,
      agreement: 0.5,
      abstained: 0.25,
      verdict: -1,
      overlap: 1,
      'label:PER': 1,
      'type:a': 1,
      'none:c': 1,
    });
  });

  it('features of soft votes: each voter counts with the probabilities it gave this type and none', () => {
    const f = candidateFeatures({
      type: 'PER',
      votes: [
        { voter: 'a', type: 'PER', probs: { PER: 0.7, LOC: 0.2, none: 0.1 } },
        { voter: 'b', type: 'none', probs: { PER: 0.3, none: 0.7 } },
        { voter: 'c', type: 'LOC' },
      ],
      voters: ['a', 'b', 'c'],
      overlaps: false,
    });
    const near = (x: number | undefined, y: number) =>
      assert.ok(Math.abs((x ?? Number.NaN) - y) < 1e-12, `${x} vs ${y}`);
    near(f.entityShare, (0.9 + 0.3 + 1) / 3);
    near(f.typeShare, (0.7 + 0.3) / 3);
    near(f.agreement, 1 / 2.2);
    near(f['type:a'], 0.7);
    near(f['none:a'], 0.1);
    near(f['type:b'], 0.3);
    near(f['none:b'], 0.7);
    assert.equal(f['type:c'], undefined);
    assert.equal(f['none:c'], undefined);
  });

  it('through the pipeline: the score is the calibrated probability, and a higher --threshold trades recall for precision', async () => {
    // c proposes its spurious span; b misses every PER (so a PER has 2 of 3 votes)
    const behaviours = {
      a: {},
      b: {
        extract: (g: readonly { text: string; type: string }[]) =>
          g.filter((e) => e.type !== 'PER').map((e) => e.text),
        classify: (_s: string, gt: string | undefined) => (gt === 'PER' ? 'none' : (gt ?? 'none')),
      },
      c: spurious,
    };
    const calibration = { weights: { bias: -4, typeShare: 6 } };
    const base = {
      backbones: ['a', 'b', 'c'],
      stages: { retrieval: 'none', verification: false },
      decision: { calibration },
    };
    const at = async (threshold: number) => {
      const p = await pipelineFor({
        config: parseConfig({ models: models(['a', 'b', 'c']), labels, ...base }),
        engines: engines(behaviours),
        threshold,
      });
      try {
        const r = await p.evaluate(test);
        const docs = (await p.run(test)).docs;
        return { r: r.final.micro, scores: docs.flatMap((d) => d.entities.map((e) => e.score ?? 0)) };
      } finally {
        await p.close();
      }
    };
    const low = await at(0);
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const expected = new Set([sig(-4 + 6), sig(-4 + 4), sig(-4 + 2)].map((x) => x.toFixed(6)));
    for (const s of low.scores) assert.ok(expected.has(s.toFixed(6)), `score ${s}`);
    const mid = await at(0.4); // drops c's lone MISC (typeShare 1/3 -> 0.12)
    const high = await at(0.6); // drops the PERs too (typeShare 2/3 -> 0.5)
    assert.ok(low.r.p < mid.r.p && mid.r.p <= high.r.p);
    assert.ok(low.r.r === mid.r.r && mid.r.r > high.r.r);
    assert.equal(mid.r.p, 1);
  });
});

describe('overlaps', () => {
  const e = (start: number, end: number, score: number, type = 'ORG') => ({
    start,
    end,
    type,
    text: '',
    score,
  });

  it('flat: the best-scored span wins and its overlaps go, then the next best of the rest; nested keeps all', () => {
    const list = [e(0, 10, 0.9), e(5, 15, 0.95), e(12, 20, 0.5), e(30, 35, 0.1)];
    assert.deepEqual(
      resolveOverlaps(list, 'flat').map((x) => `${x.start}:${x.end}`),
      ['5:15', '30:35'],
    );
    // a tie goes to the longer span
    assert.deepEqual(
      resolveOverlaps([e(0, 4, 0.5), e(0, 8, 0.5)], 'flat').map((x) => x.end),
      [8],
    );
    // ... unless the voter listed first gave the other one its type
    const voted = (start: number, end: number, by: string) => ({
      ...e(start, end, 0.5),
      sources: [
        { model: by, stage: 'classify', type: 'ORG' },
        { model: 'z', stage: 'classify', type: 'none' },
      ],
    });
    assert.deepEqual(
      resolveOverlaps([voted(0, 4, 'a'), voted(0, 8, 'b')], 'flat', ['a', 'b', 'z']).map((x) => x.end),
      [4],
    );
    assert.deepEqual(
      resolveOverlaps([voted(0, 4, 'b'), voted(0, 8, 'a')], 'flat', ['a', 'b', 'z']).map((x) => x.end),
      [8],
    );
    assert.equal(resolveOverlaps(list, 'nested').length, 4);
    assert.equal(hasOverlaps(list), true);
    assert.equal(hasOverlaps([e(0, 10, 1), e(2, 3, 1), e(11, 12, 1)]), true);
    assert.equal(hasOverlaps([e(0, 4, 1), e(4, 8, 1)]), false);
  });

  // backbone a proposes "X Y" where b and c propose the shorter gold span "X"
  const wider = (docs: readonly NerDocument[]) => {
    const next = new Map(
      docs.map((d) => {
        const g = d.entities[0];
        const m = /^ \S+/.exec(d.text.slice(g.end));
        return [d.text, m ? d.text.slice(g.start, g.end + m[0].length) : undefined];
      }),
    );
    return {
      extract: (g: readonly { text: string }[], s: string) => [
        ...g.map((x) => x.text),
        ...(next.get(s) ? [next.get(s)!] : []),
      ],
      classify: (span: string, gt: string | undefined, s: string) =>
        gt ?? (span === next.get(s) ? 'ORG' : 'none'),
    } satisfies Behaviour;
  };

  it('decision.overlaps auto: a flat pool resolves overlapping candidates, a nested pool keeps them', async () => {
    const docs = test.filter((d) => /^ \S+/.test(d.text.slice(d.entities[0].end)));
    const cfg = (overlaps?: string) => ({
      backbones: ['a', 'b', 'c'],
      stages: { retrieval: 'none', verification: false },
      decision: { threshold: 0, ...(overlaps ? { overlaps } : {}) },
    });
    const runWith = async (pool: readonly NerDocument[], overlaps?: string) => {
      const p = await pipelineFor({
        config: parseConfig({ models: models(['a', 'b', 'c']), labels, ...cfg(overlaps) }),
        engines: engines({ a: wider(docs), b: {}, c: {} }, docs),
        demos: pool,
      });
      try {
        return (await p.run(docs)).docs;
      } finally {
        await p.close();
      }
    };
    const flatPool = readJsonl(path.join(conllDir, 'train.jsonl'), 50);
    const nestedPool = [
      {
        id: 'n',
        text: 'University of Tokyo Hospital',
        entities: [
          { start: 0, end: 19, type: 'ORG', text: 'University of Tokyo' },
          { start: 14, end: 19, type: 'LOC', text: 'Tokyo' },
          { start: 0, end: 28, type: 'ORG', text: 'University of Tokyo Hospital' },
        ],
      },
      ...flatPool,
    ];
    const flat = await runWith(flatPool);
    assert.ok(
      flat.every((d) => !hasOverlaps(d.entities)),
      'flat data: no overlapping output',
    );
    const gold = new Set(docs.flatMap((d) => d.entities.map((x) => `${d.id}:${x.start}:${x.end}:${x.type}`)));
    const kept = flat.flatMap((d) => d.entities.map((x) => `${d.id}:${x.start}:${x.end}:${x.type}`));
    assert.ok(
      kept.every((k) => gold.has(k)),
      'the better-voted gold span beats the wider one',
    );
    const nested = await runWith(nestedPool);
    assert.ok(
      nested.some((d) => hasOverlaps(d.entities)),
      'nested data keeps overlapping spans',
    );
    const forced = await runWith(nestedPool, 'flat');
    assert.ok(forced.every((d) => !hasOverlaps(d.entities)));
  });
});

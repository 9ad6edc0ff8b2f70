/**
 * SaM selection over the real scripted HTTP server: three experts of known quality on a news
 * target (CoNLL-2003 dev): `news` (news source domain, perfect), `music` (CrossNER music domain,
 * drops every second entity), `science` (CrossNER science domain, types every entity MISC).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { createEngines } from '../../src/engines/registry.js';
import { jensenShannon, lexicalDistribution, lexicalSimilarity } from '../../src/experts/domain.js';
import { configWithExperts, resolveExperts } from '../../src/experts/registry.js';
import { seededSample, selectExperts } from '../../src/experts/select.js';
import { type ScriptedServer, scriptByModel, startScriptedServer } from '../support/scripted-server.js';
import { selectCli } from '../support/select-cli.js';
import { cleanSample, dataDir, openaiModel, oracleHandler, readJsonl } from './helpers.js';

const target = cleanSample(readJsonl(path.join(dataDir, 'conll2003/dev.jsonl')), 20);
const newsTrain = readJsonl(path.join(dataDir, 'conll2003/train.jsonl')).slice(0, 60);
const musicTrain = readJsonl(path.join(dataDir, 'crossner_music/train.jsonl')).slice(0, 40);
const scienceTrain = readJsonl(path.join(dataDir, 'crossner_science/train.jsonl')).slice(0, 40);

describe('lexical domain similarity', () => {
  it('is 1 for identical samples, 0 for disjoint vocabularies, symmetric', () => {
    const a = newsTrain.map((d) => d.text);
    assert.equal(lexicalSimilarity(a, a), 1);
    assert.ok(lexicalSimilarity(['aaa bbb'], ['xyz qrs']) < 1e-12);
    const p = lexicalDistribution(a);
    const q = lexicalDistribution(musicTrain.map((d) => d.text));
    assert.ok(Math.abs(jensenShannon(p, q) - jensenShannon(q, p)) < 1e-12);
  });

  it('ranks the news source domain closest to a news target', () => {
    const t = target.map((d) => d.text);
    const news = lexicalSimilarity(
      t,
      newsTrain.map((d) => d.text),
    );
    const music = lexicalSimilarity(
      t,
      musicTrain.map((d) => d.text),
    );
    const science = lexicalSimilarity(
      t,
      scienceTrain.map((d) => d.text),
    );
    assert.ok(news > music && news > science, `${news} ${music} ${science}`);
  });

  it('samples are seeded and keep input order', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    assert.deepEqual(seededSample(xs, 7, 3), seededSample(xs, 7, 3));
    assert.notDeepEqual(seededSample(xs, 7, 3), seededSample(xs, 7, 4));
    const s = seededSample(xs, 7, 3);
    assert.deepEqual(
      s,
      [...s].sort((a, b) => a - b),
    );
  });
});

describe('el4ner select', () => {
  let server: ScriptedServer;
  let dir: string;
  let rawConfig: Record<string, unknown>;
  before(async () => {
    const dropHalf = {
      extract: (gold: readonly { text: string; start: number }[]) =>
        [...gold]
          .sort((a, b) => a.start - b.start)
          .filter((_, i) => i % 2 === 0)
          .map((e) => e.text),
    };
    server = await startScriptedServer({
      chat: scriptByModel({
        news: oracleHandler(target, {}),
        music: oracleHandler(target, dropHalf),
        science: oracleHandler(target, { classify: (_s, gt) => (gt ? 'MISC' : 'none') }),
      }),
    });
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-select-'));
    writeFileSync(path.join(dir, 'news.jsonl'), newsTrain.map((d) => `${JSON.stringify(d)}\n`).join(''));
    writeFileSync(path.join(dir, 'science.txt'), scienceTrain.map((d) => `${d.text}\n`).join(''));
    writeFileSync(path.join(dir, 'target.jsonl'), target.map((d) => `${JSON.stringify(d)}\n`).join(''));
    rawConfig = {
      models: ['news', 'music', 'science'].map((n) => openaiModel(server.url, n)),
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      cache: { enabled: false },
      experts: [
        { name: 'science-expert', model: 'science', domain: { samples: 'science.txt' } },
        { name: 'music-expert', model: 'music', domain: { texts: musicTrain.map((d) => d.text) } },
        { name: 'news-expert', model: 'news', domain: { samples: 'news.jsonl' } },
      ],
    };
    writeFileSync(path.join(dir, 'el4ner.yaml'), JSON.stringify(rawConfig));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('picks the experts that are best for the target, by domain and by F1', async () => {
    const base = parseConfig(rawConfig);
    for (const e of base.experts ?? [])
      if (e.domain?.samples) e.domain.samples = path.join(dir, e.domain.samples);
    const experts = resolveExperts(base);
    const config = configWithExperts(base, experts);
    const engines = await createEngines(config, { noCache: true });
    try {
      const r = await selectExperts({
        config,
        experts,
        target,
        labelled: 20,
        topByDomain: 1,
        topByPerformance: 2,
        seed: 13,
        engines: engines.engines,
        ledger: engines.ledger,
      });
      const row = (n: string) => r.rows.find((x) => x.expert === n)!;
      assert.equal(r.similarity, 'lexical');
      assert.equal(row('news-expert').f1, 1);
      assert.ok(row('music-expert').f1! > row('science-expert').f1!);
      assert.ok(row('news-expert').domainSimilarity! > row('music-expert').domainSimilarity!);
      assert.ok(row('news-expert').domainSimilarity! > row('science-expert').domainSimilarity!);
      assert.deepEqual(row('news-expert').selectedBy, ['domain', 'performance']);
      assert.deepEqual(row('music-expert').selectedBy, ['performance']);
      assert.deepEqual(row('science-expert').selectedBy, []);
      assert.deepEqual(r.selected, ['music-expert', 'news-expert']);
      // music recall is exactly the entities it keeps (every second one per sentence)
      const kept = target.reduce((a, d) => a + Math.ceil(d.entities.length / 2), 0);
      const all = target.reduce((a, d) => a + d.entities.length, 0);
      assert.equal(row('music-expert').recall, kept / all);
      assert.equal(row('music-expert').precision, 1);
      // output merging: weighted vote of the two, with their measured weights
      assert.deepEqual(r.merge.backbones, ['music', 'news']);
      assert.equal(r.merge.classification, 'weighted-vote');
      assert.equal(r.merge.voteWeights?.news.PER, row('news-expert').weights?.PER);
      assert.equal(r.calls, engines.ledger.summary().total.calls);
      assert.equal(r.calls, server.requests.length);
    } finally {
      await engines.close();
    }
  });

  it('with an embedding model: cosine of centroids (mean embeddings; a stored centroid is used as is)', async () => {
    // 3-dim embeddings: counts of 'the', digits and capitalised words, so centroids are easy to check
    const vec = (t: string) => [
      (t.match(/\bthe\b/gi) ?? []).length,
      (t.match(/\d/g) ?? []).length,
      (t.match(/\b[A-Z]/g) ?? []).length,
    ];
    const embedServer = await startScriptedServer({ embed: (input) => input.map(vec) });
    try {
      const base = parseConfig({
        models: [
          openaiModel(server.url, 'news'),
          { ...openaiModel(embedServer.url, 'emb'), embeddingModel: 'emb' },
        ],
        embedding: { model: 'emb' },
        labels: ['PER'],
        experts: [
          { name: 'stored', model: 'news', domain: { centroid: [0, 1, 0] } },
          { name: 'texts', model: 'news', domain: { texts: ['The 2 cats', 'Paris'] } },
          { name: 'nothing', model: 'news' },
        ],
      });
      const experts = resolveExperts(base);
      const engines = await createEngines(base, { noCache: true });
      try {
        const r = await selectExperts({
          config: base,
          experts,
          target,
          labelled: 0,
          topByDomain: 1,
          topByPerformance: 1,
          seed: 1,
          engines: engines.engines,
          ledger: engines.ledger,
        });
        assert.equal(r.similarity, 'embedding');
        const mean = (vs: number[][]) => vs[0].map((_, j) => vs.reduce((a, v) => a + v[j], 0) / vs.length);
        const t = mean(target.map((d) => vec(d.text)));
        const cos = (a: number[], b: number[]) =>
          a.reduce((x, _, i) => x + a[i] * b[i], 0) / (Math.hypot(...a) * Math.hypot(...b));
        const sims = r.rows.map((x) => x.domainSimilarity);
        assert.ok(Math.abs(sims[0]! - cos(t, [0, 1, 0])) < 1e-6);
        assert.ok(Math.abs(sims[1]! - cos(t, mean([vec('The 2 cats'), vec('Paris')]))) < 1e-6);
        assert.equal(sims[2], null);
        assert.equal(r.labelled, 0);
        assert.equal(r.rows[0].f1, null);
        assert.deepEqual(r.selected, [sims[0]! > sims[1]! ? 'stored' : 'texts']);
      } finally {
        await engines.close();
      }
    } finally {
      await embedServer.close();
    }
  });

  it('the CLI prints the table, writes the selection and a merged config that loads', async () => {
    const before = server.requests.length;
    const { stdout } = await selectCli(path.join(dir, 'el4ner.yaml'), path.join(dir, 'target.jsonl'), [
      '--labelled',
      '10',
      '--top-domain',
      '1',
      '--top-performance',
      '1',
      '--out',
      path.join(dir, 'selection.json'),
      '--config-out',
      path.join(dir, 'merged.yaml'),
      '--no-cache',
    ]);
    assert.match(stdout, /news-expert\s+\d\.\d{4}\s+1\.0000\s+domain \+ performance/);
    const sel = JSON.parse(readFileSync(path.join(dir, 'selection.json'), 'utf8'));
    assert.deepEqual(sel.selected, ['news-expert']);
    assert.equal(sel.labelled, 10);
    assert.ok(server.requests.length > before);
    const merged = loadConfig(path.join(dir, 'merged.yaml'));
    assert.deepEqual(merged.backbones, ['news']);
    assert.equal(merged.verifier, 'news');
  });

  it('`selection.labelled: 0` in the config selects by domain only, as `--labelled 0` does', async () => {
    const config = path.join(dir, 'domain-only.yaml');
    writeFileSync(config, JSON.stringify({ ...rawConfig, selection: { labelled: 0, topByDomain: 1 } }));
    const before = server.requests.length;
    const { stdout } = await selectCli(config, path.join(dir, 'target.jsonl'), [
      '--out',
      path.join(dir, 'domain-only.json'),
    ]);
    assert.match(stdout, /F1 on 0 labelled sentence\(s\)/);
    const sel = JSON.parse(readFileSync(path.join(dir, 'domain-only.json'), 'utf8'));
    assert.equal(sel.labelled, 0);
    assert.deepEqual(sel.selected, ['news-expert']);
    assert.ok(sel.rows.every((r: { f1: number | null }) => r.f1 === null));
    assert.equal(server.requests.length, before, 'no expert was measured');
  });
});

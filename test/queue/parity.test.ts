/**
 * The same input through `el4ner run` and through the queue (enqueue, worker, collect) with the
 * same config gives the same rows, byte for byte: the queue carries the input's tokens, which the
 * CRF tags (CoNLL-2003 comes tokenised; the tokenizer would split it differently), and each
 * document's context in the input, which the CRF's document features read (a worker sees one batch).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Entity } from '../../src/core/types.js';
import { readJsonlDocuments } from '../../src/slm/data.js';
import { CrfTagger } from '../../src/slm/tagger.js';
import { conllLines, el4ner, el4nerAsync, tmpDir, trainSmallCrf } from '../support/cli.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
before(async () => {
  redis = await startTestRedis();
});
after(async () => {
  await redis?.stop();
});

test('run and the queue give identical output for 200 CoNLL-2003 documents', {
  timeout: 300_000,
}, async () => {
  const dir = tmpDir('el4ner-parity-');
  const crf = trainSmallCrf();
  const config = join(dir, 'offline.json');
  writeFileSync(config, JSON.stringify({ fusion: { slm: crf } }));
  const input = join(dir, 'test200.jsonl');
  const lines = conllLines('test', 200);
  writeFileSync(input, `${lines.join('\n')}\n`);

  const viaRun = join(dir, 'run.jsonl');
  const r = el4ner(['run', '--config', config, '--input', input, '--output', viaRun]);
  assert.equal(r.code, 0, r.stderr);

  const job = `parity-${process.pid}-${Date.now()}`;
  const queue = `q-${job}`;
  const q = ['--redis', redis.url];
  const e = el4ner(['enqueue', ...q, '--input', input, '--job', job, '--queue', queue, '--batch', '30']);
  assert.equal(e.code, 0, e.stderr);
  const w = await el4nerAsync(['worker', ...q, '--config', config, '--queue', queue, '--idle-exit', '2']);
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stderr, /done: 200 documents, 0 failures, 0 parked/);
  const viaQueue = join(dir, 'queue.jsonl');
  const c = el4ner(['collect', ...q, '--job', job, '--output', viaQueue]);
  assert.equal(c.code, 0, c.stderr);

  assert.equal(readFileSync(viaQueue, 'utf8'), readFileSync(viaRun, 'utf8'), 'byte-identical rows');

  // the context travelled: this CRF reads it, and each document tagged alone comes out otherwise
  const tagger = await CrfTagger.load(crf);
  assert.ok(tagger.readsContext);
  const spans = (es: readonly Entity[]) => es.map((x) => `${x.start}:${x.end}:${x.type}`).join(' ');
  const runRows = readFileSync(viaRun, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const alone = (await readJsonlDocuments(input)).map((d) => tagger.predict(d));
  assert.ok(alone.some((p, i) => spans(p.entities) !== spans(runRows[i].entities)));

  // the comparison can fail: without the tokens the CRF gives other answers on this input
  const noTokens = join(dir, 'no-tokens.jsonl');
  writeFileSync(
    noTokens,
    `${lines
      .map((l) => {
        const o = JSON.parse(l);
        return JSON.stringify({ id: o.id, text: o.text });
      })
      .join('\n')}\n`,
  );
  const viaRunNoTokens = join(dir, 'run-no-tokens.jsonl');
  assert.equal(el4ner(['run', '--config', config, '--input', noTokens, '--output', viaRunNoTokens]).code, 0);
  assert.notEqual(readFileSync(viaRunNoTokens, 'utf8'), readFileSync(viaRun, 'utf8'));
});

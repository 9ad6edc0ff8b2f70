/**
 * Orchestration overhead of the EL4NER pipeline per sentence, with zero-latency in-process
 * backbones that answer instantly from gold (no model time at all): prompt building, parsing,
 * grounding, voting, verification, retrieval (POS tagging + lexical embeddings + SpanSim) and
 * bookkeeping.
 *
 *   node --import tsx bench/pipeline.ts [--sentences 1000] [--pool 2000]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMethod } from '../src/assemble/index.js';
import { parseConfig } from '../src/config/load.js';
import type { NerDocument } from '../src/core/types.js';
import type { PipelineReport } from '../src/el4ner/report.js';
import type { StageOverrides } from '../src/el4ner/switches.js';
import { goldByText, oracleEngine } from '../test/support/oracle.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const data = path.resolve(root, '../shared/data/conll2003');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};

function read(file: string, n: number): NerDocument[] {
  const out: NerDocument[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line);
    out.push({ id: o.id, text: o.text, entities: o.entities });
    if (out.length >= n) break;
  }
  return out;
}

const nSentences = arg('sentences', 1000);
const test = read(path.join(data, 'test.jsonl'), nSentences);
const pool = read(path.join(data, 'train.jsonl'), arg('pool', 2000));
const labels = ['LOC', 'MISC', 'ORG', 'PER'];
const models = ['a', 'b', 'c'].map((name) => ({
  name,
  engine: 'openai',
  baseUrl: 'http://127.0.0.1:9/v1',
  model: name,
}));

async function measure(label: string, stages: StageOverrides, concurrency: number) {
  const byText = goldByText(test);
  const engines = new Map(['a', 'b', 'c'].map((n) => [n, oracleEngine(n, byText)]));
  const config = parseConfig({
    models,
    labels,
    backbones: ['a', 'b', 'c'],
    retrieval: { k: 5 },
    concurrency,
  });
  const t0 = performance.now();
  const p = await createMethod(config, { engines, demos: pool, stages, log: () => {} });
  const tReady = performance.now();
  const report = (await p.evaluate(test)).details as PipelineReport;
  await p.close();
  const t1 = performance.now();
  const ms = t1 - tReady;
  const calls = report.cost.total.calls;
  return {
    label,
    concurrency,
    setupMs: tReady - t0,
    sentences: report.sentences,
    perSec: (report.sentences / ms) * 1000,
    msPerSentence: ms / report.sentences,
    callsPerSentence: calls / report.sentences,
    f1: report.final.micro.f1,
  };
}

const rows = [];
rows.push(await measure('full (span-level retrieval)', {}, 8));
rows.push(await measure('full (span-level retrieval)', {}, 1));
rows.push(await measure('retrieval none', { retrieval: 'none' }, 8));
rows.push(
  await measure(
    'no decomposition, no verification',
    { retrieval: 'none', decomposition: false, verification: false },
    8,
  ),
);

console.log(
  `EL4NER orchestration overhead, ${nSentences} CoNLL-2003 test sentences, 3 zero-latency backbones, pool ${pool.length}`,
);
console.log('| stages | concurrency | setup ms | sentences/s | ms/sentence | calls/sentence | F1 |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${r.label} | ${r.concurrency} | ${r.setupMs.toFixed(0)} | ${r.perSec.toFixed(0)} | ${r.msPerSentence.toFixed(2)} | ${r.callsPerSentence.toFixed(2)} | ${r.f1.toFixed(3)} |`,
  );

/**
 * Throughput and memory of the transformer SLM (an ONNX token classifier through onnxruntime-node
 * on the CPU), beside the CRF in the same run, on CoNLL-2003 test sentences (their own tokens).
 * Models are written to a temp folder and removed after: the tiny graph of the tests (1 layer,
 * 16 wide) and a BERT-base-sized random graph (12 layers, 768 wide, 12 heads, 3072 feed-forward,
 * 30,522-token vocabulary, 512 positions: ~109 M parameters, ~435 MB), both with a WordPiece
 * tokenizer.json built from the CoNLL train vocabulary. Each SLM is measured in its own process
 * (so its memory is its own), loaded by `loadSlm` as `el4ner run` does, tagging the sentences
 * (a) one at a time and (b) 64 at a time (the runner's block), batched by length.
 *
 *   node --import tsx bench/onnx.ts [--sentences 300] [--threads 2] [--no-base]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { SlmSpec } from '../src/config/schema.js';
import { readJsonlDocuments } from '../src/slm/data.js';
import { loadSlm } from '../src/slm/load.js';
import { trainCrf } from '../src/slm/tagger.js';
import { writeModelFolder } from '../test/support/onnx/folder.js';
import { WORDPIECE_SPECIALS, wordPieceTokenizer } from '../test/support/onnx/tokenizers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const data = path.resolve(here, '../../shared/data/conll2003');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG', 'B-MISC', 'I-MISC'];
const BLOCK = 64;
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

interface Row {
  tokens: string[];
}
function readTokens(file: string, n: number): string[][] {
  const out: string[][] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    out.push((JSON.parse(line) as Row).tokens);
    if (out.length >= n) break;
  }
  return out;
}

interface Rate {
  /** Sentences per wall-clock second and per CPU second (user + system, all threads). */
  wall: number;
  cpu: number;
}

interface Measure {
  label: string;
  loadSeconds: number;
  rssAfterLoadMb: number;
  oneAtATime: Rate;
  batched: Rate;
  words: number;
  peakRssMb: number;
}

/** This process's peak resident memory (VmHWM: unlike maxRSS it does not carry over from the parent). */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Math.round(process.resourceUsage().maxRSS / 1024);
}

async function rate(n: number, fn: () => Promise<void>): Promise<Rate> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: n / wall, cpu: n / ((c.user + c.system) / 1e6) };
}

/** Child process: load one SLM, tag the sentences both ways, print one JSON line. */
async function measure(label: string, spec: SlmSpec, sentencesFile: string): Promise<void> {
  const sentences = JSON.parse(readFileSync(sentencesFile, 'utf8')) as string[][];
  const t0 = performance.now();
  const slm = await loadSlm(spec);
  const loadSeconds = (performance.now() - t0) / 1000;
  const rssAfterLoadMb = mb(process.memoryUsage().rss);
  for (const s of sentences.slice(0, 8)) await slm.tagTokens(s); // warm-up
  const oneAtATime = await rate(sentences.length, async () => {
    for (const s of sentences) await slm.tagTokens(s);
  });
  const batched = await rate(sentences.length, async () => {
    for (let i = 0; i < sentences.length; i += BLOCK)
      await Promise.all(sentences.slice(i, i + BLOCK).map((s) => slm.tagTokens(s)));
  });
  await slm.close();
  const out: Measure = {
    label,
    loadSeconds,
    rssAfterLoadMb,
    oneAtATime,
    batched,
    words: sentences.reduce((a, s) => a + s.length, 0),
    peakRssMb: peakRssMb(),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** A WordPiece vocabulary: CoNLL train's most frequent words, then every character alone and as ##c. */
function conllVocabulary(limit: number): string[] {
  const counts = new Map<string, number>();
  const chars = new Set<string>();
  for (const tokens of readTokens(path.join(data, 'train.jsonl'), Number.POSITIVE_INFINITY))
    for (const w of tokens) {
      counts.set(w, (counts.get(w) ?? 0) + 1);
      for (const c of w) chars.add(c);
    }
  const words = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([w]) => w);
  const pieces = [...chars].flatMap((c) => [c, `##${c}`]);
  return [...new Set([...pieces, ...words])].slice(0, limit - WORDPIECE_SPECIALS.length);
}

async function main(): Promise<void> {
  const n = arg('sentences', 300);
  const threads = arg('threads', 2);
  const withBase = !process.argv.includes('--no-base');
  const dir = mkdtempSync(path.join(tmpdir(), 'el4ner-bench-onnx-'));
  try {
    const sentences = readTokens(path.join(data, 'test.jsonl'), n);
    const sentencesFile = path.join(dir, 'sentences.json');
    writeFileSync(sentencesFile, JSON.stringify(sentences));
    const tokenizer = wordPieceTokenizer(conllVocabulary(28_996));

    const specs: [string, SlmSpec][] = [];
    const crfFile = path.join(dir, 'conll.crf');
    const train = (await readJsonlDocuments(path.join(data, 'train.jsonl'))).slice(0, 2000);
    const crf = await trainCrf(train, { maxIterations: 20 });
    await crf.save(crfFile);
    specs.push(['CRF (2,000 CoNLL sentences, 20 iterations)', crfFile]);

    const tiny = await writeModelFolder(path.join(dir, 'tiny'), { tokenizer, labels: LABELS, random: true });
    specs.push([
      `tiny ONNX graph (1 layer, 16 wide; ${(tiny.parameters / 1e6).toFixed(2)} M parameters)`,
      { kind: 'onnx', path: tiny.dir, threads },
    ]);
    if (withBase) {
      const t0 = performance.now();
      const base = await writeModelFolder(path.join(dir, 'base'), {
        tokenizer,
        labels: LABELS,
        random: true,
        shape: { vocab: 30_522, hidden: 768, layers: 12, heads: 12, ffn: 3072, maxPositions: 512 },
      });
      const file = path.join(base.dir, 'model.onnx');
      console.log(
        `wrote a BERT-base-sized random graph: ${(base.parameters / 1e6).toFixed(1)} M parameters, ${mb(statSync(file).size)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
      specs.push([
        `BERT-base-sized random graph (12 layers, 768 wide; ${(base.parameters / 1e6).toFixed(0)} M parameters)`,
        { kind: 'onnx', path: base.dir, threads },
      ]);
    }

    const rows: Measure[] = [];
    for (const [label, spec] of specs) {
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          fileURLToPath(import.meta.url),
          '--measure',
          label,
          JSON.stringify(spec),
          sentencesFile,
        ],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      if (r.status !== 0) throw new Error(`${label}: ${r.stderr}`);
      rows.push(JSON.parse(r.stdout.trim().split('\n').at(-1)!));
    }
    console.log(
      `\n${n} CoNLL-2003 test sentences (${rows[0].words} words), onnxruntime threads ${threads}; sentences per second of wall clock (per CPU second in brackets):\n`,
    );
    console.log(
      '| SLM | one at a time | 64 at a time, batched by length | load | RSS after load | peak RSS |',
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    const f = (r: Rate) => `${r.wall.toFixed(1)} (${r.cpu.toFixed(1)})`;
    for (const r of rows)
      console.log(
        `| ${r.label} | ${f(r.oneAtATime)} | ${f(r.batched)} | ${r.loadSeconds.toFixed(2)} s | ${r.rssAfterLoadMb} MB | ${r.peakRssMb} MB |`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const m = process.argv.indexOf('--measure');
if (m >= 0) await measure(process.argv[m + 1], JSON.parse(process.argv[m + 2]), process.argv[m + 3]);
else await main();

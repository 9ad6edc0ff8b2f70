/**
 * Faults from outside (issue 18), measured:
 *
 * 1. JSON extraction from adversarial answers: the scanner before issue 18 (baseline, same run)
 *    and today's, on the same inputs.
 * 2. `el4ner run` (the real CLI) over 100 documents and 3 backbones against the fault server:
 *    fault-free, then 30% mixed faults (every mode, 1 MB adversarial answers and 10 MB answers
 *    included); wall time of each and their ratio, rows written and marked degraded.
 * 3. `el4ner serve` (a real child process) under the same faults with 8 clients posting documents:
 *    /healthz latency (p50 / p99 / max) probed every 100 ms.
 *
 *   node --import tsx bench/faults.ts [--docs 100] [--latency 150] [--serve-seconds 30]
 *
 * Healthy model answers come from gold after `--latency` ms (a small model on a GPU server).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractJsonCandidates } from '../src/answers/json-text.js';
import { adversarialAnswer, startFaultServer } from '../test/support/fault-server.js';
import { goldByText, oracleAnswer } from '../test/support/oracle.js';
import { readGold, repoRoot, schemaName } from '../test/support/oracle-server.js';
import { extractJsonCandidates as extractBefore } from './baselines/json-text-before.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const DOCS = Number(arg('docs', '100'));
const LATENCY = Number(arg('latency', '150'));
const SERVE_SECONDS = Number(arg('serve-seconds', '30'));
const KiB = 1024;
const MiB = 1024 * KiB;

function timed<T>(fn: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = fn();
  return { ms: performance.now() - t0, value };
}

// ---------------------------------------------------------------- 1. JSON extraction
console.log('## JSON extraction from adversarial answers (ms; the same inputs for both)');
const unbalanced = (n: number) => '{"a": ['.repeat(Math.ceil(n / 7)).slice(0, n);
console.log('input                          size      before (917b170)   now');
for (const [name, make, sizes, beforeUpTo] of [
  ['unbalanced {"a": [', unbalanced, [12.5 * KiB, 50 * KiB, 100 * KiB, MiB, 10 * MiB], 100 * KiB],
  ['adversarial prose/brackets', adversarialAnswer, [12.5 * KiB, 50 * KiB, 100 * KiB, MiB], 100 * KiB],
] as const) {
  for (const size of sizes) {
    const text = Buffer.from(make(size)).toString(); // a flat string, as an HTTP body gives
    const before =
      size <= beforeUpTo ? `${timed(() => extractBefore(text)).ms.toFixed(1)}`.padStart(10) : '  (skipped)';
    const now = timed(() => extractJsonCandidates(text))
      .ms.toFixed(1)
      .padStart(10);
    console.log(
      `${name.padEnd(28)} ${String(Math.round(size / KiB)).padStart(6)} KiB ${before}         ${now}`,
    );
  }
}

// ---------------------------------------------------------------- 2. el4ner run
const gold = readGold('conll2003', 'test', DOCS);
const byText = goldByText(gold);
const srv = await startFaultServer({
  healthy: (req) => ({ json: oracleAnswer(byText, {}, req.messages, schemaName(req)), delayMs: LATENCY }),
  faults: {},
  slowMs: 4 * LATENCY,
  seed: 18,
});
const dir = mkdtempSync(join(tmpdir(), 'el4ner-bench-faults-'));
writeFileSync(
  join(dir, 'input.jsonl'),
  `${gold.map((d) => JSON.stringify({ id: d.id, text: d.text })).join('\n')}\n`,
);
const model = (name: string) => ({
  name,
  engine: 'openai',
  baseUrl: srv.url,
  model: name,
  server: 'vllm',
  timeoutMs: 2000,
  maxAttempts: 4,
});
writeFileSync(
  join(dir, 'config.json'),
  JSON.stringify({
    models: ['a', 'b', 'c'].map(model),
    labels: ['LOC', 'MISC', 'ORG', 'PER'],
    cache: { enabled: false },
  }),
);
const cli = join(repoRoot, 'bin/el4ner.js');

function run(args: string[]): Promise<{ code: number | null; stderr: string; seconds: number }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b) => {
      stderr += b;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, seconds: (Date.now() - t0) / 1000 }));
  });
}

console.log(`\n## el4ner run, ${DOCS} documents, 3 backbones, ${LATENCY} ms per healthy answer`);
const results: Array<{ label: string; seconds: number }> = [];
for (const [label, faults] of [
  ['fault-free', {}],
  ['30% mixed faults', { '*': { rate: 0.3 } }],
] as const) {
  srv.setFaults(faults);
  const before = srv.served.length;
  const out = join(dir, `${label.replace(/\W+/g, '-')}.jsonl`);
  const r = await run([
    'run',
    '--config',
    'config.json',
    '--input',
    'input.jsonl',
    '--output',
    out,
    '--overwrite',
  ]);
  const rows = readFileSync(out, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { degraded?: boolean; error?: string });
  const served = srv.served.slice(before);
  const faulty = served.filter((s) => s.mode !== 'ok');
  const total = /^total\s.*$/m.exec(r.stderr)?.[0] ?? '(no cost table)';
  results.push({ label, seconds: r.seconds });
  console.log(
    `${label}: ${r.seconds.toFixed(1)} s, exit ${r.code}, ${rows.length} rows (${rows.filter((x) => x.degraded).length} degraded, ${rows.filter((x) => x.error).length} unanswered); ${served.length} model requests, ${faulty.length} faults (${faulty.filter((s) => s.mode === 'adversarial').length} adversarial 1 MB, ${faulty.filter((s) => s.mode === 'huge' || s.mode === 'unbalanced').length} of 10 MB)`,
  );
  console.log(`  cost table ${total.replace(/\s+/g, ' ')}`);
}
console.log(`ratio faulty / fault-free: ${(results[1].seconds / results[0].seconds).toFixed(2)}x`);

// ---------------------------------------------------------------- 3. el4ner serve
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
const port = await freePort();
srv.setFaults({ '*': { rate: 0.3 } });
const server: ChildProcess = spawn(
  process.execPath,
  [cli, 'serve', '--config', 'config.json', '--port', String(port), '--timeout-ms', '10000'],
  { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
);
let serverLog = '';
server.stderr?.on('data', (b) => {
  serverLog += b;
});
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 200; i++) {
  if (/serving on/.test(serverLog)) break;
  await new Promise((r) => setTimeout(r, 100));
}
const latencies: number[] = [];
const statuses: Record<string, number> = {};
const until = Date.now() + SERVE_SECONDS * 1000;
const clients = Array.from({ length: 8 }, async (_, c) => {
  for (let i = c; Date.now() < until; i += 8) {
    const r = await fetch(`${base}/v1/ner`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: gold[i % gold.length].text }),
    }).catch(() => undefined);
    const k = String(r?.status ?? 'error');
    statuses[k] = (statuses[k] ?? 0) + 1;
    await r?.arrayBuffer().catch(() => undefined);
  }
});
const probe = (async () => {
  while (Date.now() < until) {
    const t0 = performance.now();
    const r = await fetch(`${base}/healthz`).catch(() => undefined);
    if (r?.ok) latencies.push(performance.now() - t0);
    else latencies.push(Number.POSITIVE_INFINITY);
    await r?.arrayBuffer().catch(() => undefined);
    await new Promise((res) => setTimeout(res, 100));
  }
})();
await Promise.all([...clients, probe]);
server.kill('SIGTERM');
await new Promise((r) => server.once('close', r));
srv.setFaults({});
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(`\n## el4ner serve under 30% mixed faults, 8 clients, ${SERVE_SECONDS} s`);
console.log(
  `/healthz: ${latencies.length} probes, p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms; /v1/ner statuses ${JSON.stringify(statuses)}`,
);
await srv.close();
rmSync(dir, { recursive: true, force: true });

#!/usr/bin/env node
// Makes sure node-llama-cpp has a working llama.cpp binary BEFORE tests run, so no test waits minutes
// for a source build. Run it from a script file, as here: node-llama-cpp tests its prebuilt binary in a
// forked child that inherits process.execArgv, and under `node -e "..."` / `node -p` that child runs the
// inline code instead of the test, so the (working) prebuilt binary is rejected and llama.cpp gets
// compiled from source (~4 minutes on 2 cores).
//
//   node scripts/prepare-llama.mjs            check the binary; build from source only if none works
//   node scripts/prepare-llama.mjs --no-build check only; exit 1 if no binary works
//
// Prints one JSON line: {"ok":true,"buildType":"prebuilt"|"localBuild",...}.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const noBuild = process.argv.includes('--no-build');
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tinyModel = path.resolve(repoRoot, '../shared/fixtures/models/tiny-random-llama.gguf');
const t0 = Date.now();
const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');

let llama;
let firstError;
try {
  llama = await getLlama({ gpu: false, build: 'never', progressLogs: false, logLevel: LlamaLogLevel.error });
} catch (err) {
  firstError = err;
}
if (!llama) {
  console.error(
    `prepare-llama: no prebuilt or local llama.cpp binary works: ${firstError?.message ?? firstError}`,
  );
  if (noBuild) {
    console.log(JSON.stringify({ ok: false, error: String(firstError?.message ?? firstError) }));
    process.exit(1);
  }
  console.error(
    'prepare-llama: building llama.cpp from source for CPU (needs cmake and a C++ compiler; minutes)',
  );
  try {
    llama = await getLlama({ gpu: false, build: 'auto', progressLogs: true, logLevel: LlamaLogLevel.error });
  } catch (err) {
    console.log(JSON.stringify({ ok: false, error: String(err?.message ?? err) }));
    process.exit(1);
  }
}

const summary = { ok: true, buildType: llama.buildType, gpu: llama.gpu, loadMs: Date.now() - t0 };
// Smoke test: load the tiny model and generate a few tokens on CPU.
if (existsSync(tinyModel)) {
  const t1 = Date.now();
  const model = await llama.loadModel({ modelPath: tinyModel });
  const context = await model.createContext({ contextSize: 256 });
  const seq = context.getSequence();
  let n = 0;
  for await (const token of seq.evaluate(model.tokenize('Hello'), { temperature: 0 })) {
    void token;
    if (++n >= 4) break;
  }
  await context.dispose();
  await model.dispose();
  summary.smokeTest = { model: path.basename(tinyModel), tokens: n, ms: Date.now() - t1 };
}
await llama.dispose();
console.log(JSON.stringify(summary));

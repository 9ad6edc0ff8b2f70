/**
 * node-llama-cpp is optional: in an install without it, the CRF and OpenAI-compatible servers work,
 * and a llama-cpp model in the config is one clear error that names the install command.
 * The install is a copy of this checkout whose node_modules lacks the package (every other package
 * linked from the real one).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { conllLines, hasStack, offlineConfig, repoRoot, tmpDir, trainSmallCrf } from '../support/cli.js';

function installWithout(pkgs: string[]): string {
  const root = tmpDir('el4ner-no-llama-');
  for (const part of ['src', 'bin', 'resources', 'package.json', 'tsconfig.json'])
    cpSync(join(repoRoot, part), join(root, part), { recursive: true });
  mkdirSync(join(root, 'node_modules'));
  for (const name of readdirSync(join(repoRoot, 'node_modules'))) {
    if (pkgs.includes(name) || name === '.bin') continue;
    symlinkSync(join(repoRoot, 'node_modules', name), join(root, 'node_modules', name));
  }
  return root;
}

test('without node-llama-cpp: the CRF runs; a llama-cpp model names `npm install node-llama-cpp`', () => {
  const root = installWithout(['node-llama-cpp', '@node-llama-cpp']);
  const el4ner = (args: string[]) =>
    spawnSync(process.execPath, [join(root, 'bin', 'el4ner.js'), ...args], {
      encoding: 'utf8',
      cwd: root,
      timeout: 120_000,
    });
  const input = join(root, 'docs.jsonl');
  writeFileSync(input, `${conllLines('test', 10).join('\n')}\n`);

  const crf = el4ner([
    'run',
    '--config',
    offlineConfig(trainSmallCrf()),
    '--input',
    input,
    '--output',
    join(root, 'out.jsonl'),
  ]);
  assert.equal(crf.status, 0, crf.stderr);

  const config = join(root, 'llama.json');
  const gguf = resolve(repoRoot, '../shared/fixtures/models/tiny-random-llama.gguf');
  writeFileSync(
    config,
    JSON.stringify({ models: [{ name: 'local', engine: 'llama-cpp', path: gguf }], labels: ['PER'] }),
  );
  for (const args of [
    ['run', '--config', config, '--input', input, '--output', join(root, 'llm.jsonl')],
    ['doctor', '--config', config],
  ]) {
    const r = el4ner(args);
    const text = `${r.stdout}${r.stderr}`;
    assert.match(
      text,
      /model "local": engine llama-cpp needs the optional package node-llama-cpp, which is not installed; install it with: npm install node-llama-cpp/,
      `${args[0]}: ${text}`,
    );
    assert.notEqual(r.status, 0);
    assert.ok(!hasStack(r.stderr), r.stderr);
  }
});

/**
 * The library example of README.md is examples/library.mjs, word for word; this test builds the
 * package (dist/, as published) and runs the example against a scripted OpenAI-compatible server.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readGold, repoRoot, startOracleServer } from '../support/oracle-server.js';

test('the README library example runs against the built package', { timeout: 180_000 }, async () => {
  const example = readFileSync(join(repoRoot, 'examples', 'library.mjs'), 'utf8').trim();
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  assert.ok(readme.includes(example), 'README.md must show examples/library.mjs verbatim');

  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stdout + build.stderr);

  const text = 'Barack Obama visited Paris.';
  const gold = [
    ...readGold('conll2003', 'test', 5),
    {
      id: 'x',
      text,
      entities: [
        { start: 0, end: 12, type: 'PER', text: 'Barack Obama' },
        { start: 21, end: 26, type: 'LOC', text: 'Paris' },
      ],
    },
  ];
  const server = await startOracleServer(gold);
  try {
    const dir = mkdtempSync(join(tmpdir(), 'el4ner-example-'));
    const config = join(dir, 'el4ner.yaml');
    writeFileSync(
      config,
      [
        'models:',
        `  - {name: a, engine: openai, baseUrl: "${server.url}", model: a}`,
        `  - {name: b, engine: openai, baseUrl: "${server.url}", model: b}`,
        'labels: [PER, ORG, LOC, MISC]',
        'cache: {enabled: false}',
      ].join('\n'),
    );
    // async: the scripted server lives in this process and must keep answering
    const child = spawn(process.execPath, [join(repoRoot, 'examples', 'library.mjs'), config], {
      cwd: repoRoot,
    });
    const run = { stdout: '', stderr: '' };
    child.stdout.on('data', (d) => {
      run.stdout += d;
    });
    child.stderr.on('data', (d) => {
      run.stderr += d;
    });
    const status = await new Promise((r) => child.once('exit', r));
    assert.equal(status, 0, run.stderr);
    assert.match(run.stdout, /text: 'Barack Obama'/);
    assert.match(run.stdout, /type: 'PER'/);
    assert.match(run.stdout, /text: 'Paris'/);
    assert.match(run.stdout, /type: 'LOC'/);
    assert.match(run.stdout, /sources:/);
  } finally {
    await server.close();
  }
});

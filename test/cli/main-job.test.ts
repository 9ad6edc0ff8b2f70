/**
 * The README's main job (`npm run sample`) on a fresh checkout, with no `.el4ner/` folder yet: it
 * trains, tags, scores and writes the view, and prints the strict micro score the README says.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, tmpDir } from '../support/cli.js';

test('npm run sample works in a fresh folder and reaches the score in the README', {
  timeout: 600_000,
}, () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  assert.match(readme, /npm install && npm run sample/);
  const documented = readme.split('\n').find((l) => /^strict micro\s/.test(l));
  assert.ok(documented, 'README shows the strict micro line the main job prints');

  const fresh = tmpDir('el4ner-main-job-');
  for (const part of ['bin', 'src', 'samples', 'node_modules', 'package.json', 'tsconfig.json'])
    symlinkSync(join(repoRoot, part), join(fresh, part));
  assert.ok(!existsSync(join(fresh, '.el4ner')));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'sample'], { cwd: fresh, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const printed = `${r.stdout}`.split('\n').find((l) => /^strict micro\s/.test(l));
  assert.equal(printed, documented, 'the score the README promises');
  for (const f of ['sample.crf', 'sample-pred.jsonl', 'sample-view.html'])
    assert.ok(existsSync(join(fresh, '.el4ner', f)), f);
});

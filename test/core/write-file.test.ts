import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { inChunks, writeWholeFile, writeWholeFileSync } from '../../src/core/write-file.js';

const moduleUrl = pathToFileURL(join(import.meta.dirname, '../../src/core/write-file.ts')).href;
const dir = mkdtempSync(join(tmpdir(), 'el4ner-write-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('writeWholeFile', () => {
  it('lets concurrent writers of one path each write a whole file, and leaves no temp file', async () => {
    const path = join(dir, 'race.json');
    const bodies = Array.from({ length: 8 }, (_, i) => `${String(i).repeat(200_000)}\n`);
    await Promise.all(bodies.map((b) => writeWholeFile(path, b)));
    assert.ok(bodies.includes(readFileSync(path, 'utf8')), 'the file is one writer’s whole text');
    assert.deepEqual(readdirSync(dir), ['race.json']);
  });

  // `ulimit -f 8`: writes past 8 KiB fail with EFBIG, as a full disk fails with ENOSPC
  for (const call of ['writeWholeFile', 'writeWholeFileSync']) {
    it(`${call} leaves the previous version and no temp file when the write fails half-way`, () => {
      const sub = join(dir, `limited-${call}`);
      mkdirSync(sub);
      const path = join(sub, 'out.txt');
      writeFileSync(path, 'previous\n');
      const script = `import { ${call} } from ${JSON.stringify(moduleUrl)};
        try { await ${call}(process.argv[1], 'x'.repeat(100_000)); } catch (e) { console.log(e.name, e.message); process.exit(3); }`;
      const r = spawnSync(
        'bash',
        [
          '-c',
          'ulimit -f 8 && exec "$0" "$@"',
          process.execPath,
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          script,
          path,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stdout, /^InputError .*out\.txt: cannot write/);
      assert.equal(readFileSync(path, 'utf8'), 'previous\n');
      assert.deepEqual(readdirSync(sub), ['out.txt']);
    });
  }

  it('writes a text given in chunks, and leaves the previous version when the chunks fail half-way', async () => {
    const path = join(dir, 'chunks.jsonl');
    await writeWholeFile(
      path,
      (function* () {
        for (let i = 0; i < 3; i++) yield `{"row":${i}}\n`;
      })(),
    );
    assert.equal(readFileSync(path, 'utf8'), '{"row":0}\n{"row":1}\n{"row":2}\n');
    const failing = function* () {
      yield 'a first chunk\n';
      throw new Error('the source broke');
    };
    await assert.rejects(writeWholeFile(path, failing()), /chunks\.jsonl: cannot write: the source broke/);
    assert.equal(readFileSync(path, 'utf8'), '{"row":0}\n{"row":1}\n{"row":2}\n');
    assert.ok(!readdirSync(dir).some((f) => f.endsWith('.tmp')), 'no temp file left');
  });

  it('joins small pieces into chunks of about the given size, in order', () => {
    assert.deepEqual([...inChunks(['ab', 'cd', 'ef', 'g'], 3)], ['abcd', 'efg']);
    assert.deepEqual([...inChunks(['ab', 'c'], 10)], ['abc']);
    assert.deepEqual([...inChunks([])], []);
  });

  it('writes synchronously the same way, replacing what was there', () => {
    const path = join(dir, 'record.json');
    writeFileSync(path, 'a much longer previous version of the record\n');
    writeWholeFileSync(path, '{}\n');
    assert.equal(readFileSync(path, 'utf8'), '{}\n');
    writeWholeFileSync(path, new Uint8Array([104, 105]));
    assert.equal(readFileSync(path, 'utf8'), 'hi');
  });
});

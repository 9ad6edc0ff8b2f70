/**
 * Every command creates the folders of what it writes; expensive ones (training, a run, an
 * evaluation) find out that their output cannot be written before they start.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  conllLines,
  el4ner,
  el4nerAsync,
  hasStack,
  offlineConfig,
  tmpDir,
  trainSmallCrf,
} from '../support/cli.js';
import { readGold, startOracleServer } from '../support/oracle-server.js';
import type { ScriptedServer } from '../support/scripted-server.js';

describe('output paths', () => {
  let dir: string;
  let crf: string;
  let offline: string;
  let docs: string;
  let blocker: string;
  let oracle: ScriptedServer;
  let llmConfig: string;

  before(async () => {
    dir = tmpDir('el4ner-paths-');
    crf = trainSmallCrf();
    offline = offlineConfig(crf);
    docs = join(dir, 'docs.jsonl');
    writeFileSync(docs, `${conllLines('test', 12).join('\n')}\n`);
    // a file where a folder would have to be: no command can write below it, not even as root
    blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'a file, not a folder\n');
    oracle = await startOracleServer(readGold('conll2003', 'test', 12));
    llmConfig = join(dir, 'llm.json');
    writeFileSync(
      llmConfig,
      JSON.stringify({
        models: [{ name: 'a', engine: 'openai', baseUrl: oracle.url, model: 'a', maxAttempts: 1 }],
        labels: ['LOC', 'MISC', 'ORG', 'PER'],
        cache: { enabled: false },
      }),
    );
  });
  after(async () => {
    await oracle?.close();
  });

  test('every command writes into folders that do not exist yet', async () => {
    const out = (name: string) => join(dir, 'fresh', name, 'deeper', name.replace(/-.*/, ''));
    const cases: [string, string[], string][] = [
      [
        'train-slm',
        ['train-slm', '--pool', docs, '--out', out('model-crf'), '--max-iter', '2'],
        out('model-crf'),
      ],
      ['tag-slm', ['tag-slm', '--model', crf, '--input', docs, '--out', out('tag-jsonl')], out('tag-jsonl')],
      ['run', ['run', '--config', offline, '--input', docs, '--output', out('run-jsonl')], out('run-jsonl')],
      ['view', ['view', '--input', docs, '--out', out('view-html')], out('view-html')],
      [
        'ensemble',
        ['ensemble', '--pred', docs, '--pred', docs, '--output', out('ens-jsonl')],
        out('ens-jsonl'),
      ],
      ['convert', ['convert', docs, `${out('conv')}.conll`], `${out('conv')}.conll`],
      ['index', ['index', '--pool', docs, '--out', out('index')], join(out('index'), 'manifest.json')],
    ];
    for (const [name, args, written] of cases) {
      const r = el4ner(args);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.ok(existsSync(written), `${name} wrote ${written}`);
    }
    const report = out('eval-report');
    const r = await el4nerAsync(['eval', '--config', llmConfig, '--test', docs, '--report', report]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(report));
  });

  test('train-slm refuses an unwritable model path before it trains', () => {
    const r = el4ner(['train-slm', '--pool', docs, '--out', join(blocker, 'model.crf')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /blocker\/model\.crf: cannot create the folder .*blocker for the model file/);
    assert.doesNotMatch(r.stderr, /iter \d+ loss/, 'no training happened');
    assert.ok(!hasStack(r.stderr), r.stderr);
  });

  test('run refuses an unwritable output before it builds the method or tags anything', () => {
    const r = el4ner(['run', '--config', offline, '--input', docs, '--output', join(blocker, 'out.jsonl')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot create the folder/);
    assert.doesNotMatch(r.stderr, /tagging with the supervised CRF|documents:/);
    // an existing folder in place of the output file
    const r2 = el4ner(['run', '--config', offline, '--input', docs, '--output', dir]);
    assert.equal(r2.code, 2, r2.stderr);
    assert.match(r2.stderr, /is a folder; the output file must be a file path/);
  });

  test('eval refuses an unwritable report before asking any model', async () => {
    const before = oracle.requests.length;
    const r = await el4nerAsync([
      'eval',
      '--config',
      llmConfig,
      '--test',
      docs,
      '--report',
      join(blocker, 'r.json'),
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot create the folder .* for the report/);
    assert.equal(oracle.requests.length, before, 'no model call was made');
  });
});

/**
 * What `tag-slm --out` and `eval --report` say they wrote, and what `eval` and `score` do with a
 * "gold" file that holds no labels (plain text, or the unlabelled input of a run).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  conllLines,
  el4ner,
  hasStack,
  jsonl,
  literal,
  offlineConfig,
  readRows,
  repoRoot,
  tmpDir,
  trainSmallCrf,
} from '../support/cli.js';

const dir = tmpDir('el4ner-tag-eval-');
const model = trainSmallCrf();
const config = offlineConfig(model);
const gold = join(dir, 'gold.jsonl');
writeFileSync(gold, `${conllLines('test', 12).join('\n')}\n`);
const unlabelled = join(dir, 'unlabelled.jsonl');
writeFileSync(unlabelled, jsonl(readRows(gold).map((d) => ({ id: d.id, text: d.text }))));
const plain = join(dir, 'notes.txt');
writeFileSync(plain, 'Alice met Bob in London.\n');

test('tag-slm --out says what it wrote, in a folder it creates, and leaves no temp file', () => {
  const out = join(dir, 'tagged', 'sub', 'rows.jsonl');
  const r = el4ner(['tag-slm', '--model', model, '--input', unlabelled, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(readRows(out).length, 12);
  assert.match(r.stderr, new RegExp(`12 document\\(s\\) written to ${literal(out)}`));
  assert.deepEqual(readdirSync(join(dir, 'tagged', 'sub')), ['rows.jsonl']);
});

test('eval --report says where the report went; the report counts the --limit documents', () => {
  const report = join(dir, 'reports', 'eval.json');
  const r = el4ner(['eval', '--config', config, '--test', gold, '--limit', '5', '--report', report]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /report written to .*reports\/eval\.json/);
  const json = JSON.parse(readFileSync(report, 'utf8')) as { documents: number; micro: { f1: number } };
  assert.equal(json.documents, 5);
  assert.match(r.stdout, /^documents: 5$/m);
  assert.deepEqual(readdirSync(join(dir, 'reports')), ['eval.json']);
});

test('eval and score refuse plain text as gold: it cannot hold labels', () => {
  for (const args of [
    ['eval', '--config', config, '--test', plain],
    ['score', '--gold', plain, '--pred', unlabelled],
  ]) {
    const r = el4ner(args);
    assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
    assert.ok(!hasStack(r.stderr), r.stderr);
    assert.match(r.stderr, /notes\.txt: plain text has no entity labels/);
    assert.equal(r.stdout, '');
  }
});

test('eval and score warn when the gold file holds no entity at all', () => {
  for (const args of [
    ['eval', '--config', config, '--test', unlabelled],
    ['score', '--gold', unlabelled, '--pred', gold, '--bootstrap', '0'],
  ]) {
    const r = el4ner(args);
    assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /warning: .*unlabelled\.jsonl holds no entities/);
  }
  // a labelled gold file: no such warning
  const r = el4ner(['score', '--gold', gold, '--pred', gold, '--bootstrap', '0']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /holds no entities/);
});

test('the CRF alone calls no model: run and eval print no table of model calls', () => {
  const out = join(dir, 'crf-run.jsonl');
  for (const args of [
    ['run', '--slm', model, '--input', unlabelled, '--output', out],
    ['eval', '--config', config, '--test', gold],
  ]) {
    const r = el4ner(args);
    assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /response cache|calls\s+prompt|circuit breaker/, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\n/, 'no empty line where the table was');
  }
  assert.match(
    el4ner(['run', '--slm', model, '--input', unlabelled, '--output', out, '--overwrite']).stderr,
    /12 document\(s\) written to/,
  );
});

test('score and eval read gold in another encoding with --encoding, as the UTF-8 error tells', () => {
  const latin = join(dir, 'latin1.jsonl');
  const row = {
    id: 'c',
    text: 'Café Zoë met Bob .',
    entities: [{ start: 5, end: 8, type: 'PER', text: 'Zoë' }],
  };
  writeFileSync(latin, Buffer.from(`${JSON.stringify(row)}\n`, 'latin1'));
  const refused = el4ner(['score', '--gold', latin, '--pred', latin, '--bootstrap', '0']);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /not valid UTF-8.*--encoding latin1/);
  const scored = el4ner([
    'score',
    '--gold',
    latin,
    '--pred',
    latin,
    '--bootstrap',
    '0',
    '--encoding',
    'latin1',
  ]);
  assert.equal(scored.code, 0, scored.stderr);
  assert.match(scored.stdout, /strict micro\s+1\.0000\s+1\.0000\s+1\.0000\s+1\s+0\s+0/);
  const evaluated = el4ner(['eval', '--config', config, '--test', latin, '--encoding', 'latin1']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  assert.match(evaluated.stdout, /^documents: 1$/m);
  const bad = el4ner(['eval', '--config', config, '--test', latin, '--encoding', 'klingon']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.ok(!hasStack(bad.stderr), bad.stderr);
});

test('the CRF alone says which LLM options it ignores instead of ignoring them silently', () => {
  const out = join(dir, 'crf-flags.jsonl');
  const r = el4ner([
    'run',
    '--slm',
    model,
    '--input',
    unlabelled,
    '--output',
    out,
    '--threshold',
    '0.99',
    '--no-verification',
    '--retrieval',
    'none',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /el4ner: --threshold, --retrieval, --no-verification apply to the LLM methods, not to the supervised tagger alone: ignored/,
  );
  const plain = el4ner(['run', '--slm', model, '--input', unlabelled, '--output', out, '--overwrite']);
  assert.doesNotMatch(plain.stderr, /ignored/);
});

test('eval names the gold types the method cannot give (a model trained on other types)', () => {
  // the CoNLL-2003 CRF scored on WNUT-17 sentences: no type in common
  const wnut = join(dir, 'wnut.jsonl');
  writeFileSync(
    wnut,
    readFileSync(join(repoRoot, 'samples', 'gold.jsonl'), 'utf8')
      .split('\n')
      .slice(0, 20)
      .join('\n'),
  );
  const r = el4ner(['eval', '--config', config, '--test', wnut]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /el4ner: warning: gold types the method does not give \(its labels: LOC, MISC, ORG, PER\): \S.* \(\d+ entities, counted as missed\)/,
  );
  // the CRF's own types: no warning
  const same = el4ner(['eval', '--config', config, '--test', gold]);
  assert.equal(same.code, 0, same.stderr);
  assert.doesNotMatch(same.stderr, /does not give/);
});

test('eval --report - is refused before any work instead of writing a file named "-"', () => {
  const cwd = tmpDir('el4ner-report-dash-');
  const r = el4ner(['eval', '--config', config, '--test', gold, '--report', '-'], { cwd });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--report -: .*file/);
  assert.deepEqual(readdirSync(cwd), []);
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { rebasePaths } from '../../src/experts/config-file.js';

const dir = mkdtempSync(join(tmpdir(), 'el4ner-slm-spec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('fusion.slm: a CRF path, {kind: crf, path} or {kind: onnx, path, ...}', () => {
  it('accepts the three forms and keeps the short one a string', () => {
    assert.equal(parseConfig({ fusion: { slm: 'model.crf' } }).fusion?.slm, 'model.crf');
    assert.deepEqual(parseConfig({ fusion: { slm: { kind: 'crf', path: 'model.crf' } } }).fusion?.slm, {
      kind: 'crf',
      path: 'model.crf',
    });
    const onnx = {
      kind: 'onnx',
      path: './models/bert-ner/',
      maxLength: 256,
      stride: 32,
      batchSize: 8,
      threads: 2,
    };
    assert.deepEqual(parseConfig({ fusion: { slm: onnx } }).fusion?.slm, onnx);
  });

  it('YAML: a relative folder resolves against the config file, like every other path', () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'fusion:\n  slm: {kind: onnx, path: ./models/bert-ner/}\n  voter: true\n');
    assert.deepEqual(loadConfig(file).fusion?.slm, { kind: 'onnx', path: join(dir, 'models/bert-ner') });
    writeFileSync(file, 'fusion:\n  slm:\n    kind: crf\n    path: m.crf\n');
    assert.deepEqual(loadConfig(file).fusion?.slm, { kind: 'crf', path: join(dir, 'm.crf') });
    writeFileSync(file, 'fusion:\n  slm: m.crf\n');
    assert.equal(loadConfig(file).fusion?.slm, join(dir, 'm.crf'));
  });

  it('errors name the file and the key, and say what is wrong inside the object', () => {
    const bad = (slm: unknown, pattern: RegExp) =>
      assert.throws(
        () => parseConfig({ fusion: { slm } }, 'c.yaml'),
        (e: Error) => e instanceof ConfigError && pattern.test(e.message),
      );
    bad({ kind: 'onnx' }, /c\.yaml: fusion\.slm: path: .*expected string/);
    bad({ kind: 'tensorflow', path: 'x' }, /c\.yaml: fusion\.slm: kind: expected 'crf' or 'onnx'/);
    bad({ path: 'x' }, /fusion\.slm: kind: expected 'crf' or 'onnx'/);
    bad(
      { kind: 'onnx', path: 'x', maxLenght: 128 },
      /c\.yaml: fusion\.slm\.maxLenght: unknown key \(did you mean "maxLength"\?\)/,
    );
    bad({ kind: 'onnx', path: 'x', stride: -1 }, /fusion\.slm\.stride/);
    bad(
      { kind: 'onnx', path: 'x', device: 'tpu' },
      /fusion\.slm: device: Invalid option: expected one of "cpu"\|"cuda"/,
    );
    bad(42, /fusion\.slm: expected a CRF model path or \{kind: onnx, path: <model folder>\}/);
  });

  it('a derived config (select/tune) rebases the object form path too', () => {
    const raw = { fusion: { slm: { kind: 'onnx', path: 'models/bert-ner' } } };
    const out = rebasePaths(raw, '/work/a', '/work/a/out');
    assert.equal(out.fusion.slm.path, '../models/bert-ner');
    assert.equal(raw.fusion.slm.path, 'models/bert-ner', 'the input is not changed');
    assert.equal(rebasePaths({ fusion: { slm: 'm.crf' } }, '/work/a', '/work/a/out').fusion.slm, '../m.crf');
  });
});

/** `el4ner run` in a pipe: JSONL on stdin and stdout, /dev/stdout, --from FORMAT, one document per line. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { bin, conllLines, el4ner, hasStack, offlineConfig, tmpDir, trainSmallCrf } from '../support/cli.js';

const rowsOf = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; text: string; entities: { start: number; end: number }[] });

describe('pipes', () => {
  let crf: string;
  let offline: string;
  let dir: string;
  let input: string;
  let fromFile: string;

  before(() => {
    crf = trainSmallCrf();
    offline = offlineConfig(crf);
    dir = tmpDir('el4ner-pipes-');
    input = `${conllLines('test', 25)
      .map((l) => {
        const o = JSON.parse(l);
        return JSON.stringify({ id: o.id, text: o.text });
      })
      .join('\n')}\n`;
    const inFile = join(dir, 'in.jsonl');
    writeFileSync(inFile, input);
    const out = join(dir, 'file-out.jsonl');
    const r = el4ner(['run', '--config', offline, '--input', inFile, '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    fromFile = readFileSync(out, 'utf8');
  });

  test('--input - --output - reads JSONL on stdin and writes only JSONL rows on stdout', () => {
    const r = el4ner(['run', '--config', offline, '--input', '-', '--output', '-'], { input, cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, fromFile, 'the same rows as a run into a file');
    assert.equal(rowsOf(r.stdout).length, 25);
    assert.match(r.stderr, /25 document\(s\) written to stdout/);
    assert.ok(!existsSync(join(dir, '-')), 'no file named "-"');
  });

  test('--output /dev/stdout finishes without --overwrite (nothing to resume in a stream)', () => {
    const r = el4ner(['run', '--config', offline, '--input', '-', '--output', '/dev/stdout'], {
      input,
      timeoutMs: 60_000,
    });
    assert.equal(r.signal, null, 'did not hang');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, fromFile);
  });

  test('--from conll reads CoNLL on stdin; --from lines makes one document per line', () => {
    const conll = 'Angela B-PER\nMerkel I-PER\nvisited O\nParis B-LOC\n.  O\n\nEU B-ORG\nrejects O\n';
    const r = el4ner(['run', '--config', offline, '--input', '-', '--from', 'conll', '--output', '-'], {
      input: conll,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      rowsOf(r.stdout).map((d) => d.text),
      ['Angela Merkel visited Paris .', 'EU rejects'],
    );
    const txt = join(dir, 'notes.txt');
    writeFileSync(txt, 'Angela Merkel visited Paris.\n\nThe EU rejected it.\r\nRome\n');
    const lines = el4ner(['run', '--config', offline, '--input', txt, '--from', 'lines', '--output', '-']);
    assert.equal(lines.code, 0, lines.stderr);
    assert.deepEqual(
      rowsOf(lines.stdout).map((d) => [d.id, d.text]),
      [
        ['notes-1', 'Angela Merkel visited Paris.'],
        ['notes-3', 'The EU rejected it.'],
        ['notes-4', 'Rome'],
      ],
    );
    // without --from, a .txt file is one document
    const whole = el4ner(['run', '--config', offline, '--input', txt, '--output', '-']);
    assert.equal(rowsOf(whole.stdout).length, 1);
    const bad = el4ner(['run', '--config', offline, '--input', txt, '--from', 'yaml', '--output', '-']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--from must be one of jsonl, conll, spacy, brat, text, lines/);
  });

  test('a closed pipe (| head) ends the run quietly', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${bin}" run --slm "${crf}" --input - --output - | head -n 2; echo "el4ner exit \${PIPESTATUS[0]}" >&2`,
      ],
      { input, encoding: 'utf8' },
    );
    assert.equal(rowsOf(r.stdout).length, 2);
    assert.match(r.stderr, /el4ner exit 0/);
    assert.ok(!hasStack(r.stderr), r.stderr);
  });
});

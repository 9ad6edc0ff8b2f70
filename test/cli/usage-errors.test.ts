/**
 * A bad command line (what commander itself refuses: an unknown command or option, a missing
 * argument or required option, an invalid option value) exits 2, as docs/operations.md says, with
 * the usage and no stack trace; --help and --version exit 0.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { el4ner, hasStack, literal } from '../support/cli.js';

test('commander usage errors exit 2; help and version exit 0', () => {
  const bad: [string[], RegExp][] = [
    [['view', '--out', 'x.html'], /required option '--input <file>' not specified/],
    [['view', '--input', 'a.jsonl', '--out', 'x.html', '--limit', '0'], /expected a positive integer/],
    [['convert', 'a.jsonl'], /missing required argument 'output'/],
    [['index', '--out', 'idx', '--bogus'], /unknown option '--bogus'/],
    [['doctor', '--config', 'c.yaml', '--timeout-ms', 'soon'], /expected a positive integer/],
    [['indx'], /unknown command 'indx'/],
    // counts are whole and positive: 0 or 2.5 used to be trained as 1 or 2 without a word
    ...['--max-iter', '--patience', '--min-count', '--eval-every', '--threads'].flatMap(
      (flag): [string[], RegExp][] =>
        ['0', '2.5', 'abc'].map((v) => [
          ['train-slm', '--pool', 'p.jsonl', '--out', 'm.crf', flag, v],
          new RegExp(literal(`option '${flag} <n>' argument '${v}' is invalid. expected a positive integer`)),
        ]),
    ),
  ];
  for (const [args, message] of bad) {
    const r = el4ner(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.ok(!hasStack(r.stderr), r.stderr);
  }
  for (const args of [['--help'], ['view', '--help'], ['--version']]) {
    const r = el4ner(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.notEqual(r.stdout, '');
  }
});

/**
 * What `tune`, `select`, `ablate` and `ensemble` do with bad input, through the real command line:
 * a usage error is one clear message and exit 2, and nothing is worked on or written first.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { el4ner, hasStack } from '../support/cli.js';

describe('command-line usage errors exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'a negative number',
      ['tune', '--config', 'c.yaml', '--dev', 'd.jsonl', '--out', 't.yaml', '--budget', '-5'],
      /'-5' is invalid/,
    ],
    [
      'a non-numeric number',
      ['ablate', '--config', 'c.yaml', '--test', 't.jsonl', '--limit', 'ten'],
      /'ten' is invalid/,
    ],
    [
      'an unknown option',
      ['ensemble', '--pred', 'a.jsonl', '--pred', 'b.jsonl', '--output', 'o.jsonl', '--bogus'],
      /unknown option '--bogus'/,
    ],
    [
      'a missing required option',
      ['select', '--target', 't.jsonl'],
      /required option '--config <file>' not specified/,
    ],
  ];
  for (const [what, args, message] of cases)
    test(`${what}: ${args[0]}`, () => {
      const r = el4ner(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!hasStack(r.stderr), r.stderr);
    });

  test('--help still exits 0', () => {
    for (const cmd of ['tune', 'select', 'ablate', 'ensemble'])
      assert.equal(el4ner([cmd, '--help']).code, 0, cmd);
  });
});

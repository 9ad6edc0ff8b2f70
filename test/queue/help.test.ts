/** The --help of the queue commands speaks of their options as a user types them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { el4ner } from '../support/cli.js';

const help = (cmd: string) => el4ner([cmd, '--help']).stdout.replace(/\s+/g, ' ');

test('enqueue says what goes where with the option names, not placeholders', () => {
  const h = help('enqueue');
  assert.doesNotMatch(h, /\bIN\b|\bNAME\b/, h);
  assert.match(h, /documents of --input .* as job --job/, h);
  assert.match(h, /--batch <n> documents per batch/, h);
});

test('worker --concurrency says its default; collect --output says - is stdout', () => {
  assert.match(help('worker'), /--concurrency <n> .*\(default: the config's concurrency\)/);
  assert.match(help('collect'), /--output <file> .*'-' for stdout/);
});

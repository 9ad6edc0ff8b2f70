/** The byte-level UTF-8 check behind the input decoder (src/formats/decode.ts). */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { InputError } from '../../src/core/errors.js';
import { firstInvalidUtf8, readDecodedText } from '../../src/formats/decode.js';

test('the UTF-8 check finds the first bad byte (overlong, surrogate, truncated, out of range)', () => {
  const at = (...bytes: number[]) => firstInvalidUtf8(Uint8Array.from(bytes));
  assert.equal(at(0x41, 0xc3, 0xa9), -1); // Aé
  assert.equal(at(0xf0, 0x9f, 0x98, 0x80), -1); // 😀
  assert.equal(at(0x41, 0xc0, 0xaf), 1); // overlong '/'
  assert.equal(at(0xed, 0xa0, 0x80), 0); // a UTF-16 surrogate
  assert.equal(at(0x41, 0x42, 0xe2, 0x82), 2); // cut short
  assert.equal(at(0xf4, 0x90, 0x80, 0x80), 0); // above U+10FFFF
  assert.equal(at(0x41, 0x80), 1); // a lone continuation byte
});

test('a folder or a missing file where a file is read is an input error naming it, not a system error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-decode-'));
  await assert.rejects(readDecodedText(dir), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal((e as Error).message, `${dir}: a folder, not a file`);
    return true;
  });
  // the caller's hint says what the file should have been
  await assert.rejects(readDecodedText(dir, { expects: '--x takes a text file' }), (e: unknown) => {
    assert.equal((e as Error).message, `${dir}: a folder, not a file; --x takes a text file`);
    return true;
  });
  await assert.rejects(readDecodedText(join(dir, 'gone.txt')), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal((e as Error).message, `${join(dir, 'gone.txt')}: no such file`);
    return true;
  });
});

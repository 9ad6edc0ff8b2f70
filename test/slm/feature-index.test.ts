import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FeatureIndex } from '../../src/slm/feature-index.js';

test('the hashed feature index finds every trained attribute and nothing else', async () => {
  const names = Array.from({ length: 50_000 }, (_, i) => `w=${i.toString(36)}|${i % 7}`);
  const index = await FeatureIndex.build(names);
  assert.equal(index.size, names.length);
  for (let i = 0; i < names.length; i += 97) assert.equal(index.get(names[i]), i);
  assert.equal(index.get('w=unseen'), -1);
  assert.equal(index.get(''), -1);
  const again = FeatureIndex.fromHashes(index.hi, index.lo);
  for (let i = 0; i < names.length; i += 101) assert.equal(again.get(names[i]), i);
  // Far less memory than the names: 8 bytes of hash per attribute plus a table of 4-byte slots.
  assert.ok(index.bytes <= names.length * 8 + 4 * 2 * 131072);
});

test('two attributes with the same hash are refused, not silently merged', async () => {
  await assert.rejects(
    () => FeatureIndex.build(['w=a', 'w=b', 'w=a']),
    /collision between feature 0 and feature 2/,
  );
});

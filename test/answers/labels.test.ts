import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTypeMapper } from '../../src/answers/labels.js';

describe('mapping the types models write to the label set', () => {
  it('maps case, prefixes and unambiguous synonyms, says how, and drops the rest', () => {
    const map = createTypeMapper(['PER', 'ORG', 'LOC', 'MISC']);
    assert.deepEqual(map('PER'), { type: 'PER', how: 'exact' });
    assert.deepEqual(map('per'), { type: 'PER', how: 'case' });
    assert.deepEqual(map('B-per'), { type: 'PER', how: 'case' });
    assert.deepEqual(map('LOC.'), { type: 'LOC', how: 'case' });
    assert.deepEqual(map('Person'), { type: 'PER', how: 'synonym' });
    assert.deepEqual(map('organisation'), { type: 'ORG', how: 'synonym' });
    assert.deepEqual(map('Location'), { type: 'LOC', how: 'synonym' });
    assert.deepEqual(map('None'), { type: 'none', how: 'none-word' });
    assert.deepEqual(map('not an entity'), { type: 'none', how: 'none-word' });
    assert.equal(map('vehicle'), undefined);
  });

  it('takes a near match only when it points to exactly one label', () => {
    const map = createTypeMapper(['PER', 'ORG', 'LOC', 'MISC']);
    assert.deepEqual(map('organisaton'), { type: 'ORG', how: 'near' });
    assert.deepEqual(map('Locaton'), { type: 'LOC', how: 'near' });
    assert.equal(map('xyzzy'), undefined);
    // one edit from both 'person' and 'persons' (PER): still one label
    assert.deepEqual(map('persom'), { type: 'PER', how: 'near' });
  });

  it('leaves ambiguous synonyms out, and maps spelled-out labels from their short forms', () => {
    assert.equal(createTypeMapper(['LOC', 'GPE'])('country'), undefined);
    assert.equal(createTypeMapper(['LOC'])('country')?.type, 'LOC');
    assert.equal(createTypeMapper(['person', 'location'])('PER')?.type, 'person');
    assert.equal(createTypeMapper(['creative-work', 'person'])('Creative-Work')?.type, 'creative-work');
    assert.equal(createTypeMapper(['PER.NAM', 'PER.NOM'])('per.nom')?.type, 'PER.NOM');
  });
});

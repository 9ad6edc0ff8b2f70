import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { methodSettings } from '../../src/cli/method-options.js';
import { InputError } from '../../src/core/errors.js';

describe('run / eval flags for the decision', () => {
  it('--threshold and --verification-policy reach the method options; bad values are refused', () => {
    const s = methodSettings({ config: 'c.yaml', threshold: '0.6', verificationPolicy: 'all' });
    assert.equal(s.threshold, 0.6);
    assert.equal(s.verificationPolicy, 'all');
    const none = methodSettings({ config: 'c.yaml' });
    assert.equal(none.threshold, undefined, 'unset: the config decides');
    assert.equal(none.verificationPolicy, undefined);
    assert.throws(() => methodSettings({ config: 'c.yaml', threshold: '1.5' }), InputError);
    assert.throws(
      () => methodSettings({ config: 'c.yaml', threshold: 'high' }),
      /--threshold must be a number from 0 to 1/,
    );
    assert.throws(
      () => methodSettings({ config: 'c.yaml', verificationPolicy: 'some' }),
      /--verification-policy must be one of all, selective, off/,
    );
  });
});

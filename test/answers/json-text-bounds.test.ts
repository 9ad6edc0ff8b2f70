/**
 * Issue 18, defect 1: JSON extraction from an adversarial answer must be linear and bounded (the
 * old scanner restarted at every '{' and took 8 s for 100 KB: 10 MB of unbalanced `{"a": [` never
 * finished). The time limit of this suite is a guard against quadratic work, not a speed target
 * (the figures are in bench/faults.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractJsonCandidates, MAX_VALUES } from '../../src/answers/json-text.js';
import { adversarialAnswer } from '../support/fault-server.js';

const MiB = 1024 * 1024;
const fill = (unit: string, bytes: number) => unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
const answer = '{"entities": [{"text": "Paris", "type": "LOC"}]}';
const paris = { entities: [{ text: 'Paris', type: 'LOC' }] };

describe('JSON extraction on adversarial answers (linear, bounded)', { timeout: 60_000 }, () => {
  it('10 MB of unbalanced {"a": [ gives no value', () => {
    assert.deepEqual(extractJsonCandidates(fill('{"a": [', 10 * MiB)), []);
  });

  it('10 MB of unbalanced brackets then a real answer: the answer is found', () => {
    assert.deepEqual(extractJsonCandidates(`${fill('[', 10 * MiB)} ${answer}`), []);
    // (an opener that never closes swallows what follows: the answer sits inside it, and the
    // structure is too deep to be an answer; a prose prefix instead is skipped)
    assert.deepEqual(extractJsonCandidates(`${fill("It's a city, isn't it? ", MiB)}${answer}`), [paris]);
  });

  it('1 MB adversarial answers (prose, fences, unclosed and deep brackets) give nothing usable', () => {
    for (let i = 0; i < 5; i++) {
      const found = extractJsonCandidates(adversarialAnswer(MiB));
      assert.ok(found.length <= MAX_VALUES);
      // whatever near-JSON bits are read, none is an answer of the shape asked for
      for (const v of found) assert.ok(!JSON.stringify(v).includes('"entities"'));
    }
  });

  it('a megabyte of braces, closers, quotes, apostrophes or tiny objects', () => {
    for (const unit of ['{', '}]', '{"', "{'", '{x} ', '[1,] ', '```json\n{"a": [\n```\n']) {
      const found = extractJsonCandidates(fill(unit, MiB));
      assert.ok(found.length <= MAX_VALUES, unit);
    }
  });

  it('a valid 1 MB answer is read whole; a deeply nested one is refused', () => {
    const big = {
      entities: Array.from({ length: 20_000 }, (_, i) => ({ text: `P${i}`, type: 'LOC' })),
    };
    assert.deepEqual(extractJsonCandidates(JSON.stringify(big)), [big]);
    assert.deepEqual(extractJsonCandidates(`${'['.repeat(MiB / 2)}${']'.repeat(MiB / 2)}`), []);
  });

  it('an answer cut off at max_tokens is repaired', () => {
    const cut = '{"entities": [{"text": "Paris", "type": "LOC"}, {"text": "Ber';
    const [first] = extractJsonCandidates(cut) as Array<{ entities: Array<{ text: string }> }>;
    assert.deepEqual(
      first.entities.map((e) => e.text),
      ['Paris', 'Ber'],
    );
  });

  it('prose, fences and near-JSON around a real answer still work', () => {
    assert.deepEqual(extractJsonCandidates(`Sure!\n\`\`\`json\n${answer}\n\`\`\`\nDone.`), [paris]);
    assert.deepEqual(
      extractJsonCandidates("Answer: {'entities': [{'text': 'Paris', 'type': 'LOC',},],} hope it helps"),
      [paris],
    );
  });

  it('stops trying candidates once the deadline has passed (the first one is always read)', () => {
    const text = `${answer} ${answer.replace('Paris', 'Rome')} ${answer.replace('Paris', 'Oslo')}`;
    assert.equal(extractJsonCandidates(text).length, 3);
    assert.equal(extractJsonCandidates(text, { deadline: Date.now() - 1 }).length, 1);
  });
});

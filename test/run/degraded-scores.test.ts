/**
 * The stderr lines and exit code that eval, tune, select and ablate end with when what they scored
 * was degraded: a search with a model down degrades every run, and says so in a few lines.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEGRADED_EXIT, degradedScores, NO_ANSWER_EXIT } from '../../src/run/degraded.js';

const run = (i: number, degraded: number, unanswered = 0) => ({
  what: `candidate ${i}`,
  documents: 10,
  degraded,
  unanswered,
});

test('nothing degraded: no line, exit 0', () => {
  assert.deepEqual(degradedScores([run(1, 0), run(2, 0)]), { code: 0, lines: [] });
});

test('each degraded run is named; no answer at all outranks degraded', () => {
  const some = degradedScores([run(1, 0), run(2, 3)]);
  assert.equal(some.code, DEGRADED_EXIT);
  assert.equal(some.lines.length, 1);
  assert.match(some.lines[0], /^candidate 2: 3 of 10 document\(s\) degraded \(/);
  const none = degradedScores([run(1, 2), run(2, 3, 1)]);
  assert.equal(none.code, NO_ANSWER_EXIT);
  assert.match(none.lines[1], /1 with no answer from any model \(scored as no entities\)/);
});

test('a search whose every run was degraded: five named, the rest summed in one line', () => {
  const r = degradedScores(Array.from({ length: 40 }, (_, i) => run(i + 1, 2)));
  assert.equal(r.code, DEGRADED_EXIT);
  assert.equal(r.lines.length, 6);
  assert.match(r.lines[4], /^candidate 5: /);
  assert.equal(r.lines[5], 'and 35 more run(s) with degraded documents (70 in all)');
});

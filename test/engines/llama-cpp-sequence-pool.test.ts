import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import { SequencePool } from '../../src/engines/llama-cpp/sequence-pool.js';

// Stand-ins for context sequences: only the evaluated tokens matter to the pool.
function fakeSequence(id: string, evaluated: number[]): LlamaContextSequence {
  return {
    id,
    compareContextTokens(tokens: Token[]) {
      let i = 0;
      while (i < evaluated.length && i < tokens.length && evaluated[i] === tokens[i]) i++;
      return { firstDifferentIndex: i };
    },
  } as unknown as LlamaContextSequence;
}
const idOf = (s: LlamaContextSequence) => (s as unknown as { id: string }).id;
const toks = (...n: number[]) => n as unknown as Token[];

test('a free sequence sharing the longest prefix with the prompt is lent first', async () => {
  const pool = new SequencePool([
    fakeSequence('a', [1, 2]),
    fakeSequence('b', [1, 2, 3, 4]),
    fakeSequence('c', []),
  ]);
  const s = await pool.acquire(toks(1, 2, 3, 9));
  assert.equal(idOf(s), 'b');
  assert.equal(pool.idle, 2);
});

test('requests wait in FIFO order when every sequence is busy; an aborted waiter leaves the queue', async () => {
  const pool = new SequencePool([fakeSequence('only', [])]);
  const first = await pool.acquire(toks(1));
  const order: string[] = [];
  const ac = new AbortController();
  const second = pool.acquire(toks(1), ac.signal);
  const third = pool.acquire(toks(1)).then((s) => {
    order.push('third');
    return s;
  });
  assert.equal(pool.waiting, 2);
  ac.abort();
  await assert.rejects(second, { name: 'AbortError' });
  assert.equal(pool.waiting, 1);
  pool.release(first);
  const s = await third;
  assert.equal(idOf(s), 'only');
  assert.deepEqual(order, ['third']);
  assert.equal(pool.idle, 0);
});

test('closing the pool rejects waiting requests and refuses new ones', async () => {
  const pool = new SequencePool([fakeSequence('only', [])]);
  await pool.acquire(toks(1));
  const waiting = pool.acquire(toks(1));
  pool.close();
  await assert.rejects(waiting, /closed/);
  await assert.rejects(pool.acquire(toks(1)), /closed/);
});

/**
 * Redis that answers the start-up check and is gone right after (a crash, a failover, a network
 * cut): `status`, `collect` and `enqueue` end with one line and exit 5, as an unreachable Redis
 * does, instead of a stack trace and the exit 1 of a bug.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { conllLines, el4nerAsync, hasStack, tmpDir } from '../support/cli.js';

/** Answers one connection's ready check and PING as Redis does, then stops listening and hangs up. */
async function redisThatGoesAway(): Promise<string> {
  const server = createServer((socket) => {
    server.close();
    socket.on('data', (data) => {
      const text = data.toString('latin1').toUpperCase();
      let out = '';
      for (const _ of text.matchAll(/INFO/g)) out += '$0\r\n\r\n';
      for (const _ of text.matchAll(/PING/g)) out += '+PONG\r\n';
      if (out) socket.write(out);
      else socket.destroy();
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return `redis://127.0.0.1:${address.port}`;
}

test('Redis gone after the start-up check: status, collect and enqueue exit 5 with one line', {
  timeout: 180_000,
}, async () => {
  const dir = tmpDir('el4ner-redis-gone-');
  const input = join(dir, 'docs.jsonl');
  writeFileSync(input, `${conllLines('test', 5).join('\n')}\n`);
  for (const args of [
    ['status', '--job', 'j'],
    ['collect', '--job', 'j', '--output', join(dir, 'out.jsonl')],
    ['enqueue', '--input', input, '--job', 'j'],
  ]) {
    const url = await redisThatGoesAway();
    const r = await el4nerAsync([...args, '--redis', url], { timeoutMs: 90_000 });
    assert.equal(r.code, 5, `${args[0]}: ${r.stderr}`);
    assert.equal(hasStack(r.stderr), false, `${args[0]}: ${r.stderr}`);
    assert.match(
      r.stderr,
      /^el4ner: lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+\/?: /,
      r.stderr,
    );
    assert.match(r.stderr, /run the same command again once Redis answers/, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

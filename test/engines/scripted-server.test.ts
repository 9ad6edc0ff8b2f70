import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoLogprobs, scriptByModel, startScriptedServer } from '../support/scripted-server.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read arbitrary response fields
const json = async (r: Response): Promise<any> => r.json();
const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('scripted server', () => {
  it('answers chat completions in the OpenAI shape with a chars/4 usage estimate', async () => {
    const srv = await startScriptedServer({ chat: () => ({ content: 'Hello, world', logprobs: 'auto' }) });
    try {
      const res = await post(`${srv.url}/chat/completions`, {
        model: 'm',
        messages: [{ role: 'user', content: 'x'.repeat(40) }],
        logprobs: true,
        top_logprobs: 1,
      });
      assert.equal(res.status, 200);
      const j = await json(res);
      assert.equal(j.object, 'chat.completion');
      assert.equal(j.choices[0].message.content, 'Hello, world');
      assert.deepEqual(
        j.choices[0].logprobs.content.map((t: { token: string }) => t.token),
        ['Hello', ',', ' ', 'world'],
      );
      assert.equal(j.choices[0].logprobs.content[0].top_logprobs.length, 1);
      assert.deepEqual(j.usage, {
        prompt_tokens: 10,
        completion_tokens: 3,
        total_tokens: 13,
        prompt_tokens_details: { cached_tokens: 0 },
      });
      assert.equal(srv.requests[0].model, 'm');
      assert.equal(srv.requests[0].messages[0].content.length, 40);
    } finally {
      await srv.close();
    }
  });

  it('lists models, 404s unknown models with scriptByModel, and 404s unknown routes', async () => {
    const srv = await startScriptedServer({ chat: scriptByModel({ a: () => 'A' }) });
    try {
      const models = await json(await fetch(`${srv.url}/models`));
      assert.equal(models.object, 'list');
      assert.equal((await post(`${srv.url}/chat/completions`, { model: 'b', messages: [] })).status, 404);
      const ok = await json(await post(`${srv.url}/chat/completions`, { model: 'a', messages: [] }));
      assert.equal(ok.choices[0].message.content, 'A');
      assert.equal((await post(`${srv.url}/completions`, {})).status, 404);
    } finally {
      await srv.close();
    }
  });

  it('sends scripted statuses with headers, and raw bodies verbatim', async () => {
    const replies = [{ status: 429, headers: { 'retry-after': '2' } }, { rawBody: '{"trunc' }];
    const srv = await startScriptedServer({ chat: () => replies.shift() ?? 'ok' });
    try {
      const r1 = await post(`${srv.url}/chat/completions`, { model: 'm', messages: [] });
      assert.equal(r1.status, 429);
      assert.equal(r1.headers.get('retry-after'), '2');
      const r2 = await post(`${srv.url}/chat/completions`, { model: 'm', messages: [] });
      assert.equal(await r2.text(), '{"trunc');
    } finally {
      await srv.close();
    }
  });

  it('close() ends hanging requests', async () => {
    const srv = await startScriptedServer({ chat: () => ({ hang: true }) });
    const pending = post(`${srv.url}/chat/completions`, { model: 'm', messages: [] }).then(
      () => 'answered',
      () => 'failed',
    );
    while (srv.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    await srv.close();
    assert.equal(await pending, 'failed');
    assert.ok(Date.now() - t0 < 1000);
  });

  it('splits auto logprobs with the documented regex', () => {
    assert.deepEqual(
      autoLogprobs('{"a": 1}').map((t) => t.token),
      ['{', '"', 'a', '"', ':', ' ', '1', '}'],
    );
  });
});

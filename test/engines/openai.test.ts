import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OpenAIModelConfig } from '../../src/config/schema.js';
import { ConfigError } from '../../src/core/errors.js';
import { EngineError } from '../../src/engines/errors.js';
import { buildChatBody, detectServer, OpenAIEngine, parseRetryAfter } from '../../src/engines/openai.js';
import {
  type ScriptedReply,
  type ScriptedRequest,
  type ScriptedServer,
  startScriptedServer,
} from '../support/scripted-server.js';

function cfg(url: string, over: Partial<OpenAIModelConfig> = {}): OpenAIModelConfig {
  return {
    name: 'm1',
    engine: 'openai',
    baseUrl: url,
    model: 'served-model',
    concurrency: 4,
    timeoutMs: 2000,
    maxAttempts: 3,
    temperature: 0,
    maxTokens: 64,
    server: 'openai',
    ...over,
  };
}

const fast = { retry: { baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 5000 } };
const user = (content: string) => ({ messages: [{ role: 'user' as const, content }] });

/** A server whose replies are a queue per test: `replies` is consumed in order, then 'ok'. */
async function queued(replies: ScriptedReply[]): Promise<ScriptedServer> {
  return startScriptedServer({ chat: () => replies.shift() ?? 'ok' });
}

describe('OpenAIEngine over real HTTP', () => {
  it('sends the request and maps text, usage and cached tokens', async () => {
    const srv = await queued([
      { content: 'hello', usage: { prompt_tokens: 11, completion_tokens: 2, cached_tokens: 8 } },
    ]);
    try {
      const e = new OpenAIEngine(cfg(srv.url, { seed: 7 }), fast);
      const r = await e.chat({ ...user('hi'), stop: ['\n'] });
      assert.equal(r.text, 'hello');
      assert.deepEqual(r.usage, { promptTokens: 11, completionTokens: 2, cachedPromptTokens: 8 });
      assert.equal(r.logprobs, undefined);
      const b = srv.requests[0].body;
      assert.equal(b.model, 'served-model');
      assert.equal(b.temperature, 0);
      assert.equal(b.max_tokens, 64);
      assert.equal(b.seed, 7);
      assert.deepEqual(b.stop, ['\n']);
      assert.equal(b.logprobs, undefined);
    } finally {
      await srv.close();
    }
  });

  it('retries a 429 after the Retry-After delay', async () => {
    const srv = await queued([{ status: 429, headers: { 'retry-after': '1' } }, 'done']);
    try {
      const e = new OpenAIEngine(cfg(srv.url), fast);
      const t0 = Date.now();
      const r = await e.chat(user('x'));
      const waited = Date.now() - t0;
      assert.equal(r.text, 'done');
      assert.equal(srv.requests.length, 2);
      assert.ok(waited >= 950, `waited only ${waited} ms`);
      assert.ok(waited < 6000, `waited ${waited} ms`);
    } finally {
      await srv.close();
    }
  });

  it('retries a 500 and then succeeds', async () => {
    const srv = await queued([{ status: 500 }, { status: 503 }, 'finally']);
    try {
      const r = await new OpenAIEngine(cfg(srv.url), fast).chat(user('x'));
      assert.equal(r.text, 'finally');
      assert.equal(srv.requests.length, 3);
    } finally {
      await srv.close();
    }
  });

  it('gives up with an EngineError after maxAttempts when the server keeps failing', async () => {
    const srv = await startScriptedServer({ chat: () => ({ status: 502 }) });
    try {
      const e = new OpenAIEngine(cfg(srv.url, { maxAttempts: 3 }), fast);
      await assert.rejects(e.chat(user('x')), (err: unknown) => {
        assert.ok(err instanceof EngineError);
        assert.equal(err.attempts, 3);
        assert.equal(err.status, 502);
        assert.equal(err.model, 'm1');
        assert.match(err.message, /m1.*failed after 3 attempts: HTTP 502/);
        return true;
      });
      assert.equal(srv.requests.length, 3);
    } finally {
      await srv.close();
    }
  });

  it('does not retry a 400', async () => {
    const srv = await queued([
      { status: 400, errorBody: { error: { message: 'bad field', type: 'invalid_request_error' } } },
    ]);
    try {
      const e = new OpenAIEngine(cfg(srv.url), fast);
      await assert.rejects(
        e.chat(user('x')),
        (err: unknown) => err instanceof EngineError && err.attempts === 1 && err.status === 400,
      );
      assert.equal(srv.requests.length, 1);
    } finally {
      await srv.close();
    }
  });

  it('a server that refuses logprobs (400) is asked again without them, and not asked for them again', async () => {
    // what a hosted reasoning model or an engine without logprobs answers
    const srv = await startScriptedServer({
      chat: (req: ScriptedRequest) =>
        req.body.logprobs
          ? {
              status: 400,
              errorBody: {
                error: {
                  message: "This model does not support the 'logprobs' parameter.",
                  type: 'invalid_request_error',
                },
              },
            }
          : 'typed',
    });
    try {
      const e = new OpenAIEngine(cfg(srv.url), fast);
      const first = await e.chat({ ...user('x'), logprobs: true, topLogprobs: 5 });
      assert.equal(first.text, 'typed');
      assert.equal(first.logprobs, undefined);
      assert.deepEqual(
        srv.requests.map((r) => [r.body.logprobs, r.body.top_logprobs]),
        [
          [true, 5],
          [undefined, undefined],
        ],
      );
      const second = await e.chat({ ...user('y'), logprobs: true, topLogprobs: 5 });
      assert.equal(second.text, 'typed');
      assert.equal(srv.requests.length, 3, 'the second call goes without logprobs at once');
      assert.equal(srv.requests[2].body.logprobs, undefined);
      // a 400 that asking without logprobs does not cure is the error it was
      const bad = await startScriptedServer({
        chat: () => ({
          status: 400,
          errorBody: { error: { message: 'bad field', type: 'invalid_request_error' } },
        }),
      });
      try {
        await assert.rejects(
          new OpenAIEngine(cfg(bad.url), fast).chat({ ...user('x'), logprobs: true }),
          (err: unknown) => err instanceof EngineError && err.status === 400,
        );
        assert.equal(bad.requests.length, 2);
      } finally {
        await bad.close();
      }
    } finally {
      await srv.close();
    }
  });

  it('times out a hanging request, retries, then fails clearly', async () => {
    const srv = await startScriptedServer({ chat: () => ({ hang: true }) });
    try {
      const e = new OpenAIEngine(cfg(srv.url, { timeoutMs: 150, maxAttempts: 2 }), fast);
      const t0 = Date.now();
      await assert.rejects(e.chat(user('x')), (err: unknown) => {
        assert.ok(err instanceof EngineError);
        assert.equal(err.attempts, 2);
        assert.match(err.message, /timed out after 150 ms/);
        return true;
      });
      const took = Date.now() - t0;
      assert.ok(took >= 300 && took < 5000, `took ${took} ms`);
      assert.equal(srv.requests.length, 2);
    } finally {
      await srv.close();
    }
  });

  it('retries a hang that recovers', async () => {
    const srv = await queued([{ hang: true }, 'recovered']);
    try {
      const r = await new OpenAIEngine(cfg(srv.url, { timeoutMs: 150 }), fast).chat(user('x'));
      assert.equal(r.text, 'recovered');
    } finally {
      await srv.close();
    }
  });

  it('retries a truncated JSON body', async () => {
    const srv = await queued([{ rawBody: '{"id":"x","choices":[{"index":0,"mess' }, 'whole']);
    try {
      const r = await new OpenAIEngine(cfg(srv.url), fast).chat(user('x'));
      assert.equal(r.text, 'whole');
      assert.equal(srv.requests.length, 2);
    } finally {
      await srv.close();
    }
  });

  it('retries a body cut off mid-stream (connection dropped)', async () => {
    const srv = await queued([{ content: 'first', truncateAt: 40 }, 'second']);
    try {
      const r = await new OpenAIEngine(cfg(srv.url), fast).chat(user('x'));
      assert.equal(r.text, 'second');
      assert.equal(srv.requests.length, 2);
    } finally {
      await srv.close();
    }
  });

  it('reports a persistently non-JSON body as an EngineError', async () => {
    const srv = await startScriptedServer({
      chat: () => ({ rawBody: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } }),
    });
    try {
      const e = new OpenAIEngine(cfg(srv.url, { maxAttempts: 2 }), fast);
      await assert.rejects(
        e.chat(user('x')),
        (err: unknown) =>
          err instanceof EngineError && /malformed response/.test(err.message) && err.attempts === 2,
      );
    } finally {
      await srv.close();
    }
  });

  it('maps logprobs with top alternatives, and returns undefined when the server sends none', async () => {
    const srv = await queued([
      {
        content: 'PER',
        logprobs: [
          {
            token: 'PER',
            logprob: -0.2,
            top: [
              { token: 'PER', logprob: -0.2 },
              { token: 'ORG', logprob: -1.9 },
              { token: 'LOC', logprob: -3 },
            ],
          },
        ],
      },
      { content: 'no logprobs here' },
    ]);
    try {
      const e = new OpenAIEngine(cfg(srv.url), fast);
      const r = await e.chat({ ...user('type?'), logprobs: true, topLogprobs: 2 });
      assert.equal(srv.requests[0].body.logprobs, true);
      assert.equal(srv.requests[0].body.top_logprobs, 2);
      assert.deepEqual(r.logprobs, [
        {
          token: 'PER',
          logprob: -0.2,
          top: [
            { token: 'PER', logprob: -0.2 },
            { token: 'ORG', logprob: -1.9 },
          ],
        },
      ]);
      const r2 = await e.chat({ ...user('type?'), logprobs: true, topLogprobs: 2 });
      assert.equal(r2.text, 'no logprobs here');
      assert.equal(r2.logprobs, undefined);
    } finally {
      await srv.close();
    }
  });

  it('embeds in batches through /v1/embeddings with the embedding model', async () => {
    const seen: Array<{ input: string[]; model: string }> = [];
    const srv = await startScriptedServer({
      embed: (input, model) => {
        seen.push({ input, model });
        return input.map((t) => [t.length, 1, 0]);
      },
    });
    try {
      const e = new OpenAIEngine(cfg(srv.url, { embeddingModel: 'emb-small' }), {
        ...fast,
        embedBatchSize: 2,
      });
      const r = await e.embed(['a', 'bbb', 'cc']);
      assert.deepEqual(
        r.vectors.map((v) => Array.from(v)),
        [
          [1, 1, 0],
          [3, 1, 0],
          [2, 1, 0],
        ],
      );
      assert.equal(seen.length, 2);
      assert.ok(seen.every((s) => s.model === 'emb-small'));
      assert.ok(r.usage.promptTokens > 0);
    } finally {
      await srv.close();
    }
  });

  it('respects the concurrency limit (server counts requests in flight)', async () => {
    const srv = await startScriptedServer({ chat: () => ({ content: 'ok', delayMs: 60 }) });
    try {
      const e = new OpenAIEngine(cfg(srv.url, { concurrency: 2 }), fast);
      await Promise.all(Array.from({ length: 7 }, (_, i) => e.chat(user(`q${i}`))));
      assert.equal(srv.requests.length, 7);
      assert.equal(srv.maxInFlight, 2);
    } finally {
      await srv.close();
    }
  });

  it('stops when the caller aborts', async () => {
    const srv = await startScriptedServer({ chat: () => ({ hang: true }) });
    try {
      const e = new OpenAIEngine(cfg(srv.url, { timeoutMs: 5000 }), fast);
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(new Error('user cancelled')), 100);
      const t0 = Date.now();
      await assert.rejects(e.chat(user('x'), { signal: ctl.signal }));
      assert.ok(Date.now() - t0 < 3000);
      assert.equal(srv.requests.length, 1);
    } finally {
      await srv.close();
    }
  });
});

describe('API keys', () => {
  const SECRET = 'sk-test-4f1c9e2b7a-secret';
  let srv: ScriptedServer;
  before(async () => {
    process.env.EL4NER_TEST_KEY = SECRET;
    srv = await startScriptedServer({
      chat: (r: ScriptedRequest) =>
        r.messages[0].content === 'fail'
          ? {
              status: 401,
              errorBody: {
                error: { message: `Incorrect API key provided: ${SECRET}`, type: 'invalid_request_error' },
              },
            }
          : 'fine',
    });
  });
  after(async () => {
    delete process.env.EL4NER_TEST_KEY;
    await srv.close();
  });

  it('reads the key from the environment and keeps it out of identity and error text', async () => {
    const e = new OpenAIEngine(cfg(srv.url, { apiKeyEnv: 'EL4NER_TEST_KEY' }), fast);
    await e.chat(user('ok'));
    assert.equal(srv.requests.at(-1)?.headers?.authorization, `Bearer ${SECRET}`);
    assert.ok(!e.identity.includes(SECRET));
    await assert.rejects(e.chat(user('fail')), (err: unknown) => {
      assert.ok(err instanceof EngineError);
      assert.ok(!err.message.includes(SECRET), err.message);
      assert.ok(!String((err.cause as Error)?.message).includes(SECRET));
      assert.match(err.message, /\[redacted\]/);
      return true;
    });
  });

  it('throws a ConfigError when apiKeyEnv names an unset variable', () => {
    assert.throws(
      () => new OpenAIEngine(cfg(srv.url, { apiKeyEnv: 'EL4NER_NOT_SET_ANYWHERE' })),
      (e: unknown) => e instanceof ConfigError && /EL4NER_NOT_SET_ANYWHERE/.test(e.message),
    );
  });

  it('sends the dummy key EMPTY without apiKeyEnv', async () => {
    await new OpenAIEngine(cfg(srv.url), fast).chat(user('ok'));
    assert.equal(srv.requests.at(-1)?.headers?.authorization, 'Bearer EMPTY');
  });
});

describe('structured output per server', () => {
  const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
  const req = { ...user('x'), jsonSchema: { name: 'answer', schema } };
  const defaults = { temperature: 0, maxTokens: 10 };

  it('always sends response_format json_schema, plus the server-specific field', () => {
    for (const s of ['openai', 'vllm', 'sglang', 'llama.cpp', 'ollama', 'lmstudio'] as const) {
      const b = buildChatBody('m', s, req, defaults);
      assert.deepEqual(b.response_format, {
        type: 'json_schema',
        json_schema: { name: 'answer', schema, strict: true },
      });
      assert.equal(b.structured_outputs !== undefined, s === 'vllm', s);
      assert.equal(b.format !== undefined, s === 'ollama', s);
      assert.equal(b.json_schema !== undefined, s === 'llama.cpp', s);
      assert.equal(b.guided_json, undefined);
    }
    assert.deepEqual(buildChatBody('m', 'vllm', req, defaults).structured_outputs, { json: schema });
  });

  it('detects the server from the URL', () => {
    assert.equal(detectServer('http://localhost:11434/v1'), 'ollama');
    assert.equal(detectServer('http://localhost:8000/v1'), 'vllm');
    assert.equal(detectServer('http://127.0.0.1:8080/v1'), 'llama.cpp');
    assert.equal(detectServer('http://localhost:1234/v1'), 'lmstudio');
    assert.equal(detectServer('http://localhost:30000/v1'), 'sglang');
    assert.equal(detectServer('https://api.openai.com/v1'), 'openai');
    assert.equal(detectServer('http://gpu-box:9999/v1'), 'openai');
  });

  it('sends the vLLM field over the wire with server: auto', async () => {
    const srv = await queued([{ json: { a: 'b' } }]);
    try {
      // the scripted server runs on a random port, so force the flavour the URL would not reveal
      const e = new OpenAIEngine(cfg(srv.url, { server: 'vllm' }), fast);
      const r = await e.chat(req);
      assert.equal(r.text, '{"a":"b"}');
      assert.deepEqual(srv.requests[0].body.structured_outputs, { json: schema });
      assert.equal(srv.requests[0].body.response_format.type, 'json_schema');
    } finally {
      await srv.close();
    }
  });
});

describe('parseRetryAfter', () => {
  const h = (o: Record<string, string>) => new Headers(o);
  it('reads seconds, milliseconds and HTTP dates', () => {
    assert.equal(parseRetryAfter(h({ 'retry-after': '2' })), 2000);
    assert.equal(parseRetryAfter(h({ 'retry-after': '0.5' })), 500);
    assert.equal(parseRetryAfter(h({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter(h({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now), 3000);
    assert.equal(parseRetryAfter(h({ 'retry-after': 'soon' })), undefined);
    assert.equal(parseRetryAfter(h({})), undefined);
  });

  it('caps a long Retry-After to maxRetryAfterMs', async () => {
    const srv = await queued([{ status: 429, headers: { 'retry-after': '3600' } }, 'ok']);
    try {
      const e = new OpenAIEngine(cfg(srv.url), { retry: { baseDelayMs: 5, maxRetryAfterMs: 50 } });
      const t0 = Date.now();
      assert.equal((await e.chat(user('x'))).text, 'ok');
      assert.ok(Date.now() - t0 < 3000);
    } finally {
      await srv.close();
    }
  });
});

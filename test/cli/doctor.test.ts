/**
 * `el4ner doctor --config C` against real local HTTP servers scripted to behave like Ollama,
 * llama.cpp's llama-server and vLLM (model lists, structured outputs, logprobs, 404s for unknown
 * models), a server that ignores the schema and answers in prose, and one that is not there.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { el4nerAsync, hasStack, repoRoot, tmpDir } from '../support/cli.js';
import {
  type ScriptedReply,
  type ScriptedRequest,
  type ScriptedServer,
  startScriptedServer,
} from '../support/scripted-server.js';
import { startWebPageServer } from '../support/web-page-server.js';

const ANSWER = { city: 'Paris', country: 'France' };
const TINY_GGUF = join(repoRoot, '../shared/fixtures/models/tiny-random-llama.gguf');
const wantsSchema = (req: ScriptedRequest) =>
  req.body.response_format?.type === 'json_schema' ||
  req.body.format !== undefined ||
  req.body.json_schema !== undefined ||
  req.body.structured_outputs !== undefined;

/** Ollama's OpenAI-compatible API: tags as model ids, `format` honoured, no logprobs, 404 "try pulling it first". */
function ollama(req: ScriptedRequest): ScriptedReply {
  if (req.model !== 'qwen2.5:1.5b-instruct-q4_K_M')
    return {
      status: 404,
      errorBody: {
        error: { message: `model "${req.model}" not found, try pulling it first`, type: 'api_error' },
      },
    };
  if (req.body.format) return { content: `${JSON.stringify(ANSWER)}\n` };
  return { content: 'Paris.' };
}

/** llama-server: the loaded GGUF as the id, json_schema honoured, logprobs with alternatives. */
function llamaServer(req: ScriptedRequest): ScriptedReply {
  if (req.body.json_schema)
    return { content: JSON.stringify(ANSWER), logprobs: req.body.logprobs ? 'auto' : undefined };
  return { content: 'Paris', logprobs: req.body.logprobs ? 'auto' : undefined };
}

/** vLLM: the served model name, structured outputs, logprobs, and its 404 for an unknown model. */
function vllm(req: ScriptedRequest): ScriptedReply {
  if (req.model !== 'Qwen/Qwen2.5-7B-Instruct')
    return {
      status: 404,
      errorBody: {
        object: 'error',
        message: `The model \`${req.model}\` does not exist.`,
        type: 'NotFoundError',
        param: null,
        code: 404,
      },
    };
  if (wantsSchema(req)) return { content: JSON.stringify(ANSWER, null, 1), logprobs: 'auto' };
  return { content: 'Paris', logprobs: req.body.logprobs ? 'auto' : undefined };
}

/** A server that ignores response_format and chats. */
function prose(): ScriptedReply {
  return {
    content: `Sure! Here is the answer:\n\`\`\`json\n${JSON.stringify(ANSWER)}\n\`\`\`\nAnything else?`,
  };
}

interface Row {
  model: string;
  reachable: { ok: boolean | null; detail: string };
  modelKnown: { ok: boolean | null; detail: string };
  jsonSchema: { ok: boolean | null; detail: string };
  logprobs: { ok: boolean | null; detail: string };
  loadMs: number | null;
  latencyMs: number | null;
}

describe('el4ner doctor', () => {
  const servers: ScriptedServer[] = [];
  let dir: string;
  let config: string;

  before(async () => {
    dir = tmpDir('el4ner-doctor-');
    const o = await startScriptedServer({
      chat: ollama,
      models: ['qwen2.5:1.5b-instruct-q4_K_M', 'nomic-embed-text:latest'],
    });
    const l = await startScriptedServer({ chat: llamaServer, models: ['qwen2.5-1.5b-instruct-q4_k_m.gguf'] });
    const v = await startScriptedServer({ chat: vllm, models: ['Qwen/Qwen2.5-7B-Instruct'] });
    const p = await startScriptedServer({ chat: prose, models: ['chatty'] });
    servers.push(o, l, v, p);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    config = join(dir, 'models.json');
    writeFileSync(
      config,
      JSON.stringify({
        models: [
          {
            name: 'ollama',
            engine: 'openai',
            server: 'ollama',
            baseUrl: o.url,
            model: 'qwen2.5:1.5b-instruct-q4_K_M',
          },
          {
            name: 'llama-server',
            engine: 'openai',
            server: 'llama.cpp',
            baseUrl: l.url,
            model: 'qwen2.5-1.5b-instruct-q4_k_m.gguf',
          },
          {
            name: 'vllm',
            engine: 'openai',
            server: 'vllm',
            baseUrl: v.url,
            model: 'Qwen/Qwen2.5-7B-Instruct',
          },
          { name: 'vllm-typo', engine: 'openai', server: 'vllm', baseUrl: v.url, model: 'qwen2.5-7b' },
          { name: 'chatty', engine: 'openai', server: 'openai', baseUrl: p.url, model: 'chatty' },
          { name: 'gone', engine: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'x' },
        ],
      }),
    );
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  test('probes every model and says what each can do', async () => {
    const r = await el4nerAsync(['doctor', '--config', config, '--json']);
    assert.equal(r.code, 4, `two models cannot serve a run: ${r.stderr}`);
    assert.match(r.stderr, /vllm-typo, gone cannot serve a run/);
    const rows = new Map((JSON.parse(r.stdout) as Row[]).map((x) => [x.model, x]));
    const verdict = (m: string) => {
      const x = rows.get(m)!;
      return [x.reachable.ok, x.modelKnown.ok, x.jsonSchema.ok, x.logprobs.ok, x.latencyMs !== null];
    };
    assert.deepEqual(verdict('ollama'), [true, true, true, false, true]);
    assert.deepEqual(verdict('llama-server'), [true, true, true, true, true]);
    assert.deepEqual(verdict('vllm'), [true, true, true, true, true]);
    assert.deepEqual(verdict('vllm-typo'), [true, false, null, null, false]);
    assert.deepEqual(verdict('chatty'), [true, true, false, false, true]);
    assert.deepEqual(verdict('gone'), [false, null, null, null, false]);
    assert.match(
      rows.get('vllm-typo')!.modelKnown.detail,
      /qwen2\.5-7b not served \(the server lists Qwen\/Qwen2\.5-7B-Instruct\)/,
    );
    assert.match(rows.get('vllm-typo')!.jsonSchema.detail, /a plain call failed: .*HTTP 404/);
    assert.match(rows.get('chatty')!.jsonSchema.detail, /JSON only inside other text/);
    assert.match(rows.get('ollama')!.logprobs.detail, /fusion needs them/);
    assert.match(rows.get('llama-server')!.logprobs.detail, /yes \(top 1\)/);
    assert.match(rows.get('gone')!.reachable.detail, /ECONNREFUSED/);
    // each reachable server got the three probe calls (plain, JSON schema, logprobs) and no more
    assert.deepEqual(
      servers.map((s) => s.requests.length),
      [3, 3, 4, 3],
    );
  });

  test('prints a table, with the reasons under it', async () => {
    const r = await el4nerAsync(['doctor', '--config', config]);
    assert.equal(r.code, 4);
    const lines = r.stdout.split('\n');
    assert.match(
      lines[0],
      /^model\s+engine\s+target\s+reachable\s+model known\s+JSON schema\s+logprobs\s+latency$/,
    );
    const row = (m: string) => lines.find((l) => l.startsWith(`${m} `))!.split(/\s{2,}/);
    assert.deepEqual(row('vllm').slice(3, 7), ['yes (1 model served)', 'yes', 'yes', 'yes (top 1)']);
    assert.match(row('vllm').at(-1)!, /^\d+ ms$/);
    assert.deepEqual(row('gone').slice(3), ['no', '-', 'not run', 'not run', '-']);
    assert.ok(
      lines.some((l) =>
        /^gone: reachable: no: connection refused \(is the server running\?\) \(ECONNREFUSED\)$/.test(l),
      ),
      r.stdout,
    );
    assert.ok(!hasStack(r.stderr));
  });
});

test('doctor: a GET /models that is not a model list (a web page at baseUrl) is said so, not "0 models served"', async (t) => {
  const page = await startWebPageServer();
  t.after(() => page.close());
  const config = join(tmpDir('el4ner-doctor-page-'), 'models.json');
  writeFileSync(
    config,
    JSON.stringify({ models: [{ name: 'ui', engine: 'openai', baseUrl: page.url, model: 'm' }] }),
  );
  const json = await el4nerAsync(['doctor', '--config', config, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const [row] = JSON.parse(json.stdout) as Row[];
  assert.equal(row.reachable.ok, true);
  assert.match(
    row.reachable.detail,
    /^answers, but GET \/models is not an OpenAI model list: "<!doctype html>.*"; check baseUrl$/,
  );
  assert.equal(row.modelKnown.ok, null, 'no list, so no verdict on the model name');
  const table = await el4nerAsync(['doctor', '--config', config]);
  const line = table.stdout.split('\n').find((l) => l.startsWith('ui '))!;
  assert.deepEqual(line.split(/\s{2,}/).slice(3, 5), [
    'answers, but GET /models is not an OpenAI model list',
    'no model list',
  ]);
  assert.doesNotMatch(table.stdout, /models served|not served/);
});

test('doctor: a port that answers but does not speak HTTP (another service) is named as such, not by a parser code', async (t) => {
  const other = createServer((socket) => {
    socket.once('data', () => socket.end('-ERR unknown command\r\n'));
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise((r) => other.close(r)));
  const port = (other.address() as { port: number }).port;
  const config = join(tmpDir('el4ner-doctor-other-'), 'models.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: [{ name: 'redis', engine: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' }],
    }),
  );
  const r = await el4nerAsync(['doctor', '--config', config, '--timeout-ms', '5000']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(
    r.stdout,
    /^redis: reachable: no: connection error \(Response does not match the HTTP\/1\.1 protocol.*\)$/m,
  );
  assert.doesNotMatch(r.stdout, /HPE_/);
  assert.ok(!hasStack(r.stderr));
});

test('doctor: a local model file that is no GGUF is said so in words (as the start-up check does), not by quoting its bytes', async () => {
  const dir = tmpDir('el4ner-doctor-gguf-');
  const broken = join(dir, 'model.gguf');
  // the first bytes of a gzip file: a CRF model given where a GGUF is expected
  writeFileSync(broken, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]));
  const config = join(dir, 'models.json');
  writeFileSync(config, JSON.stringify({ models: [{ name: 'local', engine: 'llama-cpp', path: broken }] }));
  const r = await el4nerAsync(['doctor', '--config', config]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(
    r.stdout,
    /^local: reachable: no: not a GGUF file \(its first bytes are not "GGUF": a broken download or another format\)$/m,
  );
  assert.doesNotMatch(r.stdout, /\uFFFD/, 'no binary bytes quoted');
  assert.ok(!hasStack(r.stderr));
});

test('doctor: a JSON answer cut short at maxTokens is said so, with the setting to raise, not "not JSON"', async (t) => {
  // a model that rambles inside its JSON: the answer needs about 160 tokens; the server stops at max_tokens
  const full = JSON.stringify({ city: 'Paris '.repeat(100).trim(), country: 'France' });
  const server = await startScriptedServer({
    models: ['rambler'],
    chat: (req) => {
      const max = Number(req.body.max_tokens);
      const tokens = Math.ceil(full.length / 4);
      if (tokens <= max) return { content: full, usage: { completion_tokens: tokens } };
      return { content: full.slice(0, 4 * max), usage: { completion_tokens: max } };
    },
  });
  t.after(() => server.close());
  const config = join(tmpDir('el4ner-doctor-cut-'), 'models.json');
  const model = { engine: 'openai', server: 'openai', baseUrl: server.url, model: 'rambler' };
  writeFileSync(
    config,
    JSON.stringify({
      models: [
        { name: 'short', maxTokens: 32, ...model },
        { name: 'roomy', ...model },
      ],
    }),
  );
  const json = await el4nerAsync(['doctor', '--config', config, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const rows = new Map((JSON.parse(json.stdout) as Row[]).map((x) => [x.model, x]));
  assert.equal(rows.get('short')!.jsonSchema.ok, false);
  assert.match(
    rows.get('short')!.jsonSchema.detail,
    /^no \(cut short\): the answer stops inside its JSON after 32 tokens \("\{\\"city\\":\\"Paris Paris .*"\); raise maxTokens \(now 32\)$/,
  );
  // the probe asks with the model's own maxTokens (512 by default), as a run does: then it fits
  assert.deepEqual(rows.get('roomy')!.jsonSchema, { ok: true, detail: 'yes' });
  const table = await el4nerAsync(['doctor', '--config', config]);
  const line = table.stdout.split('\n').find((l) => l.startsWith('short '))!;
  assert.equal(line.split(/\s{2,}/)[5], 'no (cut short)');
  assert.match(table.stdout, /^short: JSON schema: no \(cut short\): .*raise maxTokens \(now 32\)$/m);
  assert.doesNotMatch(table.stdout, /not JSON/);
  assert.ok(!hasStack(table.stderr));
});

test('doctor: two models on one GGUF file both load and answer; a JSON answer cut by the context says to raise contextSize', async () => {
  const dir = tmpDir('el4ner-doctor-gguf2-');
  const config = join(dir, 'models.json');
  const common = { engine: 'llama-cpp', path: TINY_GGUF, gpu: false, build: 'never', threads: 2 };
  writeFileSync(
    config,
    JSON.stringify({
      models: [
        // the tiny random model writes one endless string under the JSON grammar: every answer is cut
        { name: 'short', contextSize: 512, maxTokens: 48, ...common },
        { name: 'small-context', contextSize: 256, temperature: 0.5, ...common },
      ],
    }),
  );
  const r = await el4nerAsync(['doctor', '--config', config, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = new Map((JSON.parse(r.stdout) as Row[]).map((x) => [x.model, x]));
  for (const name of ['short', 'small-context']) {
    assert.equal(rows.get(name)!.reachable.ok, true, name);
    // the load time is its own, apart from the latency of the call
    const loadMs = rows.get(name)!.loadMs;
    assert.ok(loadMs !== null && loadMs > 0, name);
    assert.equal(rows.get(name)!.reachable.detail, `yes (loaded in ${loadMs} ms, answers)`, name);
    assert.ok(rows.get(name)!.latencyMs !== null);
  }
  assert.match(
    rows.get('short')!.jsonSchema.detail,
    /^no \(cut short\): the answer stops inside its JSON after 48 tokens .*; raise maxTokens \(now 48\)$/,
  );
  assert.match(
    rows.get('small-context')!.jsonSchema.detail,
    /^no \(cut short\): the answer stops inside its JSON .*: the prompt takes (\d+) of contextSize 256 tokens, which leaves (\d+) for the answer, fewer than maxTokens 512; raise contextSize$/,
  );
  assert.ok(!hasStack(r.stderr));
});

test('doctor: an embedded GGUF model loads first, with no time limit, and the load time is shown; --timeout-ms limits the probe calls only', async () => {
  const dir = tmpDir('el4ner-doctor-load-');
  const config = join(dir, 'models.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: [
        { name: 'tiny', engine: 'llama-cpp', path: TINY_GGUF, gpu: false, build: 'never', threads: 2 },
      ],
    }),
  );
  // a limit far below the load (seconds, runtime, file and context) and below any call: the load
  // completes and is reported, the first call is the one the limit stops
  const r = await el4nerAsync(['doctor', '--config', config, '--json', '--timeout-ms', '1']);
  assert.equal(r.code, 4, r.stderr);
  const [row] = JSON.parse(r.stdout) as Row[];
  assert.ok(row.loadMs !== null && row.loadMs > 1, JSON.stringify(row));
  assert.deepEqual(row.reachable, {
    ok: false,
    detail: `no: loaded in ${row.loadMs} ms, but a plain call failed: no answer within 1 ms (--timeout-ms)`,
  });
  assert.equal(row.latencyMs, null);

  const table = await el4nerAsync(['doctor', '--config', config, '--timeout-ms', '1']);
  assert.equal(table.code, 4, table.stderr);
  assert.match(table.stderr, /^el4ner: tiny cannot serve a run \(see the table\)$/m);
  assert.match(
    table.stdout,
    /^tiny: reachable: no: loaded in \d+ ms, but a plain call failed: no answer within 1 ms \(--timeout-ms\)$/m,
  );
  assert.ok(!hasStack(table.stderr));
});

test('doctor: a server call slower than --timeout-ms is stopped at the limit and said so; the quick calls still answer', async (t) => {
  // answers a plain call at once, and a JSON-schema call never (the socket stays open)
  const server = await startScriptedServer({
    models: ['slow-json'],
    chat: (req) => (wantsSchema(req) ? { hang: true } : { content: 'Paris', logprobs: 'auto' }),
  });
  t.after(() => server.close());
  const config = join(tmpDir('el4ner-doctor-slow-'), 'models.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: [{ name: 'slow', engine: 'openai', server: 'openai', baseUrl: server.url, model: 'slow-json' }],
    }),
  );
  const t0 = Date.now();
  const r = await el4nerAsync(['doctor', '--config', config, '--json', '--timeout-ms', '1000']);
  assert.equal(r.code, 0, r.stderr);
  const [row] = JSON.parse(r.stdout) as Row[];
  assert.deepEqual(row.jsonSchema, { ok: false, detail: 'no: no answer within 1000 ms (--timeout-ms)' });
  assert.equal(row.logprobs.ok, true, row.logprobs.detail);
  assert.equal(row.loadMs, null, 'a server model has nothing to load');
  assert.ok(Date.now() - t0 < 20_000, 'the hanging call was given up at the limit');
});

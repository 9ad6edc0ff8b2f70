/**
 * What an API client sees of a request the service cannot take: a JSON body `{error}` whose message
 * says what to send instead, with the right status (the real HTTP server, built as `el4ner serve` builds it).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/app.js';
import { oracleConfig, readGold, startOracleServer } from '../support/oracle-server.js';
import type { ScriptedServer } from '../support/scripted-server.js';

let backend: ScriptedServer;
let app: FastifyInstance;
let base: string;
const LIMIT = 32 * 1024;
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of the API under test
const J = (r: Response): Promise<any> => r.json();

before(async () => {
  backend = await startOracleServer(readGold('conll2003', 'test', 20));
  app = await buildServer({ config: oracleConfig(backend.url, ['a']), bodyLimit: LIMIT });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await app.close();
  await backend.close();
});

const post = (body: string, contentType?: string) =>
  fetch(`${base}/v1/ner`, {
    method: 'POST',
    headers: contentType ? { 'content-type': contentType } : {},
    body,
  });

test('a body that is not JSON (text/plain, a form) is 415 saying to send JSON', async () => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
    const r = await post(type === 'text/plain' ? 'Barack Obama visited Paris' : 'text=Obama', type);
    assert.equal(r.status, 415, type);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const { error } = await J(r);
    assert.match(error, new RegExp(type.replace('/', '\\/')), error);
    assert.match(error, /content-type: application\/json/, error);
    assert.match(error, /"text"/, error);
  }
});

test('a body that is not an object with text or texts says what the body must hold', async () => {
  for (const body of ['{}', '[]', 'null', '{"text":"a","texts":["b"]}', '"Obama"']) {
    const r = await post(body, 'application/json');
    assert.equal(r.status, 400, body);
    const { error } = await J(r);
    assert.doesNotMatch(error, /oneOf/, `${body}: ${error}`);
    assert.match(error, /"text" \(a string\) or "texts" \(a list of strings\)/, `${body}: ${error}`);
  }
  // a field error still names the field
  const r = await post('{"texts":["a",""]}', 'application/json');
  assert.equal(r.status, 400);
  assert.match((await J(r)).error, /body\/texts\/1/);
});

test('a body over the limit is 413 naming the limit and the option that raises it', async () => {
  const r = await post(JSON.stringify({ text: 'x'.repeat(LIMIT + 10) }), 'application/json');
  assert.equal(r.status, 413);
  const { error } = await J(r);
  assert.match(error, new RegExp(`${LIMIT} bytes`), error);
  assert.match(error, /--body-limit/, error);
});

test('an unknown path is 404 with {error} naming it, like every other error', async () => {
  for (const [method, path] of [
    ['GET', '/v1/nope'],
    ['POST', '/v1/ner/nope'],
    ['DELETE', '/v1/ner/jobs/x/y'],
  ]) {
    const r = await fetch(`${base}${path}`, { method });
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(r.headers.get('allow'), null, `${method} ${path}`);
    const body = await J(r);
    assert.deepEqual(Object.keys(body), ['error'], JSON.stringify(body));
    assert.match(body.error, new RegExp(`^no route ${method} ${path} `), body.error);
    assert.match(body.error, /\/openapi\.json/, body.error);
  }
});

test('a known route asked with another method is 405 with Allow, the {error} saying which method to use', async () => {
  for (const [method, path, allow, takes] of [
    ['GET', '/v1/ner', 'POST', 'POST'],
    ['PUT', '/v1/ner/jobs', 'POST', 'POST'],
    ['DELETE', '/v1/ner/jobs/x', 'GET, HEAD', 'GET or HEAD'],
    ['POST', '/healthz', 'GET, HEAD', 'GET or HEAD'],
    ['POST', '/?text=Obama', 'GET, HEAD', 'GET or HEAD'],
  ]) {
    const r = await fetch(`${base}${path}`, { method });
    assert.equal(r.status, 405, `${method} ${path}`);
    assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const body = await J(r);
    assert.deepEqual(Object.keys(body), ['error'], JSON.stringify(body));
    assert.equal(
      body.error,
      `${method} ${path.split('?')[0]}: this route takes ${takes} (GET /openapi.json lists the routes)`,
    );
  }
  // the methods the route takes still answer
  const job = await J(await fetch(`${base}/v1/ner/jobs/x`));
  assert.match(job.error, /no job x/);
});

/**
 * `el4ner doctor`: what each configured model can do, learnt before a long run. Every model is
 * built by the same registry code a run uses (no cache, one attempt per call) and asked:
 * - reachable: GET /models answers (an embedded GGUF: the file loads, in how long, and answers);
 * - model known: the configured model name is in that list;
 * - JSON schema: an answer under a JSON schema is exactly JSON of that shape (grammar-constrained
 *   or structured outputs), or only JSON inside prose (el4ner extracts it, at the price of re-asks),
 *   or JSON cut short (and by what: the model's maxTokens, or an embedded model's contextSize);
 * - logprobs: the answer carries token log probabilities (soft votes and SLM+LLM fusion read them);
 * - latency: the wall time of one short call.
 * `timeoutMs` (--timeout-ms) limits each probe call, whatever the engine; the load of an embedded
 * model comes first, as a step of its own with no time limit (a big model may load for minutes and
 * still serve a run), and its time is shown.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { extractJsonCandidates, validateJson } from '../answers/json-text.js';
import { looksCut } from '../answers/resolve.js';
import { probeEngine } from '../assemble/engines.js';
import { ggufProblem } from '../assemble/preflight.js';
import type { Config, ModelConfig, OpenAIModelConfig } from '../config/schema.js';
import { connectionCause, modelListIds } from '../engines/openai.js';
import type { ChatMessage, ChatRequest, ChatResponse, Engine, JsonSchema } from '../engines/types.js';

export interface Check {
  /** true: yes; false: no; null: not applicable or not run. */
  ok: boolean | null;
  detail: string;
}

export interface ProbeResult {
  model: string;
  engine: ModelConfig['engine'];
  /** Base URL (without credentials) or model file. */
  target: string;
  reachable: Check;
  modelKnown: Check;
  jsonSchema: Check;
  logprobs: Check;
  /** How long loading took (an embedded model: the file and its context), before any call; null: nothing to load. */
  loadMs: number | null;
  latencyMs: number | null;
}

const PROBE_SCHEMA: JsonSchema = {
  type: 'object',
  properties: { city: { type: 'string' }, country: { type: 'string' } },
  required: ['city', 'country'],
  additionalProperties: false,
};

const ask = (content: string) => [{ role: 'user' as const, content }];

const notRun = (why: string): Check => ({ ok: null, detail: why });
const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** A probe call: one chat request under the time limit of --timeout-ms. */
type Call = (request: ChatRequest) => Promise<ChatResponse>;

/**
 * Runs a call with a signal that aborts after `timeoutMs`: the answer comes then, even from an
 * engine that has no time limit of its own (an embedded model stops at its next token).
 */
async function within<T>(timeoutMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new Error(`no answer within ${timeoutMs} ms (--timeout-ms)`);
      ctl.abort(e);
      reject(e);
    }, timeoutMs);
  });
  const running = call(ctl.signal);
  running.catch(() => {});
  try {
    return await Promise.race([running, late]);
  } finally {
    clearTimeout(timer);
  }
}

function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

/** GET {baseUrl}/models: the served model ids, or why there are none. */
async function listModels(
  m: OpenAIModelConfig,
  timeoutMs: number,
): Promise<{ ids?: string[]; check: Check }> {
  const base = m.baseUrl.replace(/\/+$/, '');
  const key = m.apiKeyEnv ? process.env[m.apiKeyEnv] : undefined;
  try {
    const res = await fetch(`${base}/models`, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return { check: { ok: true, detail: `answers, but GET /models gave HTTP ${res.status}` } };
    const text = await res.text();
    let ids: string[] | undefined;
    try {
      ids = modelListIds(JSON.parse(text));
    } catch {}
    // Not an OpenAI model list (a web page, a proxy's answer): "0 models served" would not be true.
    if (!ids) {
      const shown = JSON.stringify(text.trim().slice(0, 60));
      return {
        check: {
          ok: true,
          detail: `answers, but GET /models is not an OpenAI model list: ${shown}; check baseUrl`,
        },
      };
    }
    return {
      ids,
      check: { ok: true, detail: `yes (${ids.length} model${ids.length === 1 ? '' : 's'} served)` },
    };
  } catch (e) {
    const why =
      (e as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : connectionCause(e);
    return { check: { ok: false, detail: `no: ${why}` } };
  }
}

function modelKnown(m: OpenAIModelConfig, ids: string[] | undefined): Check {
  if (!ids) return notRun('no model list');
  const wanted = [m.model, ...(m.embeddingModel ? [m.embeddingModel] : [])];
  const missing = wanted.filter((w) => !ids.includes(w));
  if (missing.length === 0) return { ok: true, detail: 'yes' };
  const shown = ids.slice(0, 5).join(', ') + (ids.length > 5 ? ', ...' : '');
  return {
    ok: false,
    detail: `no: ${missing.join(', ')} not served (the server lists ${shown || 'nothing'})`,
  };
}

/** What to raise for an answer cut short inside its JSON: the context when it left less room than maxTokens. */
async function cutShort(engine: Engine, messages: ChatMessage[], maxTokens: number, r: ChatResponse) {
  const shown = JSON.stringify(r.text.slice(0, 60));
  const fit = await engine.promptFit?.(messages).catch(() => undefined);
  if (fit && fit.answerRoom < maxTokens)
    return (
      `no (cut short): the answer stops inside its JSON (${shown}): the prompt takes ${fit.tokens} of ` +
      `contextSize ${fit.contextSize} tokens, which leaves ${fit.answerRoom} for the answer, fewer than ` +
      `maxTokens ${maxTokens}; raise contextSize`
    );
  return (
    `no (cut short): the answer stops inside its JSON after ${r.usage.completionTokens} tokens (${shown}); ` +
    `raise maxTokens (now ${maxTokens})`
  );
}

async function probeJson(engine: Engine, call: Call, m: ModelConfig): Promise<Check> {
  const messages = ask('Which city is the capital of France, and in which country is it? Answer in JSON.');
  // the model's own maxTokens, as every request of a run has at least: a cut here is a cut there
  const maxTokens = m.maxTokens;
  const r = await call({
    messages,
    jsonSchema: { name: 'capital', schema: PROBE_SCHEMA },
    maxTokens,
    temperature: 0,
  });
  // an embedded engine parses under its grammar; a server sends text
  let value: unknown = r.json;
  if (value === undefined) {
    try {
      value = JSON.parse(r.text.trim());
    } catch {
      value = undefined;
    }
  }
  if (value !== undefined && validateJson(value, PROBE_SCHEMA) === undefined)
    return { ok: true, detail: 'yes' };
  // before the look inside: a cut value, closed by the repair, would pass for JSON inside text
  if (looksCut(r.text)) return { ok: false, detail: await cutShort(engine, messages, maxTokens, r) };
  const inside = extractJsonCandidates(r.text).some((c) => validateJson(c, PROBE_SCHEMA) === undefined);
  const shown = JSON.stringify(r.text.slice(0, 60));
  if (inside) return { ok: false, detail: `no: JSON only inside other text (${shown}); el4ner extracts it` };
  if (value !== undefined)
    return { ok: false, detail: `no: JSON of another shape (${validateJson(value, PROBE_SCHEMA)})` };
  return { ok: false, detail: `no: not JSON (${shown})` };
}

async function probeLogprobs(call: Call): Promise<Check> {
  const r = await call({
    messages: ask('Say yes.'),
    logprobs: true,
    topLogprobs: 5,
    maxTokens: 4,
    temperature: 0,
  });
  if (!r.logprobs?.length)
    return { ok: false, detail: 'no (soft votes then count as hard ones; SLM+LLM fusion needs them)' };
  const top = Math.max(...r.logprobs.map((t) => t.top?.length ?? 0));
  return { ok: true, detail: `yes${top > 0 ? ` (top ${top})` : ', without alternatives'}` };
}

/** A probe call of `engine`: one chat request under the time limit of --timeout-ms. */
const probeCall =
  (engine: Engine, timeoutMs: number): Call =>
  (request) =>
    within(timeoutMs, (signal) => engine.chat(request, { signal }));

/**
 * Loads what the engine's first call needs (an embedded model), with no time limit: a big model
 * may take minutes and still serve a run. How long it took; null when there is nothing to load.
 */
async function load(engine: Engine): Promise<number | null> {
  if (!engine.prepare) return null;
  const t0 = Date.now();
  await engine.prepare();
  return Date.now() - t0;
}

/** Probes one model. Never throws: every failure is a cell of the table. */
export async function probeModel(m: ModelConfig, opts: { timeoutMs?: number } = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const result: ProbeResult = {
    model: m.name,
    engine: m.engine,
    target: m.engine === 'openai' ? `${withoutCredentials(m.baseUrl)} ${m.model}` : basename(m.path),
    reachable: notRun(''),
    modelKnown: notRun(m.engine === 'openai' ? '' : 'n/a (a model file)'),
    jsonSchema: notRun('not run'),
    logprobs: notRun('not run'),
    loadMs: null,
    latencyMs: null,
  };
  if (m.engine === 'openai') {
    const listed = await listModels(m, Math.min(timeoutMs, 10_000));
    result.reachable = listed.check;
    if (listed.check.ok === false) return result;
    result.modelKnown = modelKnown(m, listed.ids);
  }
  // a file that is there but no GGUF (a broken download, another format): said as the start-up
  // check says it, not with the loader's quote of its binary first bytes
  const notGguf = m.engine === 'llama-cpp' && existsSync(m.path) ? ggufProblem(m.path) : undefined;
  if (notGguf) {
    result.reachable = { ok: false, detail: `no: ${notGguf}` };
    return result;
  }
  let engine: Engine | undefined;
  try {
    engine = await probeEngine(m, timeoutMs);
    result.loadMs = await load(engine);
    const t0 = Date.now();
    await probeCall(
      engine,
      timeoutMs,
    )({ messages: ask('What is the capital of France? One word.'), maxTokens: 8, temperature: 0 });
    result.latencyMs = Date.now() - t0;
    if (m.engine === 'llama-cpp')
      result.reachable = { ok: true, detail: `yes (loaded in ${result.loadMs} ms, answers)` };
  } catch (e) {
    if (m.engine !== 'llama-cpp') result.jsonSchema = notRun(`a plain call failed: ${message(e)}`);
    else if (result.loadMs === null) result.reachable = { ok: false, detail: `no: ${message(e)}` };
    else
      result.reachable = {
        ok: false,
        detail: `no: loaded in ${result.loadMs} ms, but a plain call failed: ${message(e)}`,
      };
    await engine?.close();
    return result;
  }
  try {
    const call = probeCall(engine, timeoutMs);
    const failed = (e: unknown): Check => ({ ok: false, detail: `no: ${message(e)}` });
    result.jsonSchema = await probeJson(engine, call, m).catch(failed);
    result.logprobs = await probeLogprobs(call).catch(failed);
  } finally {
    await engine.close();
  }
  return result;
}

export async function probeModels(config: Config, opts: { timeoutMs?: number } = {}): Promise<ProbeResult[]> {
  const out: ProbeResult[] = [];
  for (const m of config.models) out.push(await probeModel(m, opts));
  return out;
}

/** Whether every model can serve a run: reachable and answering a plain call. */
export function healthy(r: ProbeResult): boolean {
  return r.reachable.ok === true && r.latencyMs !== null;
}

/** The table cell: the verdict before any ':' (the rest goes to the notes under the table). */
function cell(c: Check): string {
  if (!c.detail) return c.ok === null ? '-' : c.ok ? 'yes' : 'no';
  return c.detail.split(': ')[0];
}

const COLUMNS = [
  ['reachable', 'reachable'],
  ['modelKnown', 'model known'],
  ['jsonSchema', 'JSON schema'],
  ['logprobs', 'logprobs'],
] as const;

export function formatProbeTable(results: readonly ProbeResult[]): string {
  const header = ['model', 'engine', 'target', ...COLUMNS.map(([, h]) => h), 'latency'];
  const rows = results.map((r) => [
    r.model,
    r.engine,
    r.target,
    ...COLUMNS.map(([k]) => cell(r[k])),
    r.latencyMs === null ? '-' : `${r.latencyMs} ms`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const notes = results.flatMap((r) =>
    COLUMNS.filter(([k]) => r[k].detail.includes(': ')).map(([k, h]) => `${r.model}: ${h}: ${r[k].detail}`),
  );
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    ...(notes.length ? ['', ...notes] : []),
  ].join('\n');
}

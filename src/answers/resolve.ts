/**
 * The answer resolver: the one place where a model's answer becomes a usable value.
 *
 *   ask (constrained decoding still requested where the server supports it)
 *   -> JSON out of the text (the parsed value the engine returned, else prose, code fences,
 *      near-JSON repaired)
 *   -> a lenient reading of the shape (the stage's reader: bare arrays, `{span: type}` maps,
 *      booleans for yes/no, ...) with label mapping and grounding, dropping bad items only
 *   -> validation of the normalised value
 *   -> re-ask only when nothing usable is left (an answer from the response cache that is
 *      unusable is first asked again without the cache; an answer over the engine's size limit
 *      counts as unusable).
 * What had to be repaired is returned, so callers count it per model and stage.
 */
import type { ChatRequest, ChatResponse, Engine } from '../engines/types.js';
import { SchemaError } from './errors.js';
import { extractJsonCandidates } from './json-text.js';

export interface Reading<T> {
  /** The normalised answer; undefined when this JSON value holds nothing usable. */
  value?: T;
  /** What had to be repaired to read it (one short phrase each). */
  repairs: string[];
  /** Why nothing usable came out, for the re-ask message. */
  problem?: string;
}

export interface AnswerReader<T> {
  read(json: unknown): Reading<T>;
  /** Validates the normalised value: an error message, or undefined when it is fine. */
  validate?(value: T): string | undefined;
  /** Adds what the usable answer's response carries beyond its JSON (token logprobs, say). */
  withResponse?(value: T, response: ChatResponse): T;
}

export interface Resolved<T> {
  value: T;
  repairs: string[];
  /** Requests it took (1 when the first answer was usable). */
  requests: number;
  response: ChatResponse;
}

export interface ResolveOptions {
  signal?: AbortSignal;
  /** Requests at most (the first one included). Default 2: one re-ask. */
  maxRequests?: number;
  /** Told of every answer with nothing usable in it (the cost table counts them). */
  onUnusable?: (problem: string) => void;
}

/** The message that asks again after an answer with nothing usable in it. */
export function reaskMessage(problem: string): string {
  return `Your answer could not be used: ${problem}. Answer again with JSON only, in the format asked for.`;
}

function isPlainJson(text: string): boolean {
  const t = text.trim();
  if (!/^[[{]/.test(t)) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/** Whether a text opens a JSON value and never closes it (brackets counted outside strings). */
export function looksCut(text: string): boolean {
  const t = text.trim();
  const start = t.search(/[[{]/);
  if (start < 0) return false;
  let depth = 0;
  let inString = false;
  for (let i = start; i < t.length; i++) {
    const c = t[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return depth > 0 || inString;
}

/** Reads one response; undefined value with a problem when nothing usable is in it. */
export function readResponse<T>(
  response: Pick<ChatResponse, 'text' | 'json' | 'deadline'>,
  reader: AnswerReader<T>,
): Reading<T> {
  const fromEngine = response.json !== undefined;
  const candidates = fromEngine
    ? [response.json]
    : extractJsonCandidates(response.text, { deadline: response.deadline });
  if (candidates.length === 0) return { repairs: [], problem: 'it contains no JSON' };
  const extracted = !fromEngine && !isPlainJson(response.text);
  let problem: string | undefined;
  for (const c of candidates) {
    const r = reader.read(c);
    if (r.value === undefined) {
      problem ??= r.problem ?? 'the JSON does not have the format asked for';
      continue;
    }
    const invalid = reader.validate?.(r.value);
    if (invalid !== undefined) {
      problem ??= invalid;
      continue;
    }
    return {
      value: r.value,
      repairs: extracted ? ['JSON taken out of surrounding text', ...r.repairs] : r.repairs,
    };
  }
  return { repairs: [], problem };
}

export async function resolveAnswer<T>(
  engine: Pick<Engine, 'name' | 'chat' | 'noteUnusable'>,
  request: ChatRequest,
  reader: AnswerReader<T>,
  options: ResolveOptions = {},
): Promise<Resolved<T>> {
  const maxRequests = Math.max(1, options.maxRequests ?? 2);
  let req = request;
  let refresh = false;
  let last: ChatResponse | undefined;
  let problem = 'no answer';
  for (let n = 1; n <= maxRequests; n++) {
    let response: ChatResponse;
    try {
      response = await engine.chat(req, {
        signal: options.signal,
        ...(refresh ? { cache: 'refresh' } : {}),
      });
    } catch (e) {
      // an answer over the response size limit is an unusable answer too: ask again, shorter
      if (!(e as { oversized?: unknown })?.oversized || n === maxRequests || options.signal?.aborted) throw e;
      problem = 'it was far too long';
      options.onUnusable?.(problem);
      engine.noteUnusable?.(request.stage ?? 'other');
      refresh = false;
      req = { ...request, messages: [...request.messages, { role: 'user', content: reaskMessage(problem) }] };
      continue;
    }
    last = response;
    const r = readResponse(response, reader);
    if (r.value !== undefined) {
      const repairs = n > 1 ? [...r.repairs, `asked again after: ${problem}`] : r.repairs;
      const value = reader.withResponse ? reader.withResponse(r.value, response) : r.value;
      return { value, repairs, requests: n, response };
    }
    problem = r.problem ?? 'nothing usable';
    options.onUnusable?.(problem);
    engine.noteUnusable?.(request.stage ?? 'other');
    if (response.fromCache) {
      // A stored answer that is not usable (written by an older version, or corrupted): ask the
      // same question again, past the cache, before changing the question.
      refresh = true;
      continue;
    }
    refresh = false;
    // An answer that stops inside its JSON was most likely cut at maxTokens: ask for room this time.
    const cut = looksCut(response.text) && req.maxTokens !== undefined;
    req = {
      ...request,
      ...(cut ? { maxTokens: 2 * (req.maxTokens ?? 0) } : {}),
      messages: [
        ...request.messages,
        { role: 'assistant', content: response.text.slice(0, 4000) },
        { role: 'user', content: reaskMessage(problem) },
      ],
    };
  }
  throw new SchemaError(
    `no usable answer after ${maxRequests} request(s): ${problem}`,
    last?.text ?? '',
    engine.name,
    maxRequests,
  );
}

/**
 * A fault server: an OpenAI-compatible server (the scripted server, real HTTP) whose healthy
 * answers come from the test (e.g. the gold oracle) and which replaces a share of them, per model,
 * with the faults real servers and models produce:
 *
 *   429 / 500 / 503 (with Retry-After), connection resets, hangs, slow answers, bodies truncated
 *   (short JSON) or cut (connection dropped mid-body), prose instead of JSON, JSON of the wrong
 *   schema, empty answers, 10 MB answers, 10 MB of unbalanced `{"a": [`, 1 MB adversarial answers
 *   (prose, apostrophes, fences, unclosed and deeply nested brackets), a JSON body sent as
 *   text/plain, HTML error pages.
 *
 * Which request gets a fault is drawn from a hash of (seed, model, request body, how many times
 * this very body came before): the same run gets the same faults whatever the arrival order, and
 * a retry of a request gets a fresh draw, as with a real flaky server.
 */
import { createHash } from 'node:crypto';
import {
  type ScriptedReply,
  type ScriptedRequest,
  type ScriptedServer,
  startScriptedServer,
} from './scripted-server.js';

export const FAULT_MODES = [
  '429',
  '500',
  '503',
  'reset',
  'hang',
  'slow',
  'truncated',
  'cut',
  'prose',
  'wrong-schema',
  'empty',
  'huge',
  'unbalanced',
  'adversarial',
  'text-plain',
  'html',
] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface FaultPlan {
  /** Share of chat requests that get a fault (0..1). */
  rate: number;
  /** The faults drawn from (uniformly); default every mode. */
  modes?: readonly FaultMode[];
}

export interface FaultServerOptions {
  /** The healthy answer to a request. */
  healthy: (req: ScriptedRequest) => ScriptedReply | Promise<ScriptedReply>;
  /** Fault plan per model name; `*` for every other model. */
  faults: Record<string, FaultPlan>;
  seed?: number;
  /** Delay of a 'slow' answer (default 1500 ms). */
  slowMs?: number;
  /** Retry-After of 429 and 503, in seconds (default 1). */
  retryAfterS?: number;
  /** Size of 'huge' and 'unbalanced' answers (default 10 MiB) and of 'adversarial' ones (1 MiB). */
  hugeBytes?: number;
  adversarialBytes?: number;
}

export interface FaultServer extends ScriptedServer {
  /** What each chat request got, in arrival order. */
  readonly served: ReadonlyArray<{ model: string; mode: FaultMode | 'ok'; at: number }>;
  /** Requests per mode. */
  counts(): Record<string, number>;
  /** Change the plan while running (an outage starts or ends). */
  setFaults(faults: Record<string, FaultPlan>): void;
}

const MiB = 1024 * 1024;

function repeatTo(unit: string, bytes: number): string {
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

/**
 * A megabyte of what a rambling model may write: prose with apostrophes and quotes, fences
 * around broken JSON, unclosed and deeply nested brackets. No usable answer is in it.
 */
export function adversarialAnswer(bytes: number): string {
  const parts = [
    "Sure! Here's what I think: it's hard to say, isn't it? The \"entities\" aren't obvious. ",
    '```json\n{"spans": [{"word": "Par',
    '\n```\n',
    '{"a": [',
    "{'x': [1, 2, {'y': ",
    '[[[[[[[[[[[[[[[[',
    '}]}]}] ',
    '{"text": "unterminated string, \\"escaped\\" and more ',
  ];
  let out = '';
  let i = 0;
  while (out.length < bytes) out += parts[i++ % parts.length];
  return out.slice(0, bytes);
}

const HTML_PAGE =
  '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';

export async function startFaultServer(opts: FaultServerOptions): Promise<FaultServer> {
  let faults = opts.faults;
  const seed = opts.seed ?? 1;
  const seenBodies = new Map<string, number>();
  const served: Array<{ model: string; mode: FaultMode | 'ok'; at: number }> = [];
  const huge = opts.hugeBytes ?? 10 * MiB;
  const adversarialBytes = opts.adversarialBytes ?? MiB;
  let bigAnswers: { huge?: string; unbalanced?: string; adversarial?: string } = {};
  const retryAfter = String(opts.retryAfterS ?? 1);

  const draw = (req: ScriptedRequest): FaultMode | 'ok' => {
    const plan = faults[req.model] ?? faults['*'];
    if (!plan || plan.rate <= 0) return 'ok';
    const body = JSON.stringify(req.body);
    const n = (seenBodies.get(body) ?? 0) + 1;
    seenBodies.set(body, n);
    const h = createHash('sha256').update(`${seed}\u0000${req.model}\u0000${n}\u0000${body}`).digest();
    const u = h.readUInt32BE(0) / 2 ** 32;
    if (u >= plan.rate) return 'ok';
    const modes = plan.modes ?? FAULT_MODES;
    return modes[h.readUInt32BE(4) % modes.length];
  };

  const fault = async (mode: FaultMode, req: ScriptedRequest): Promise<ScriptedReply> => {
    switch (mode) {
      case '429':
        return { status: 429, headers: { 'retry-after': retryAfter } };
      case '500':
        return { status: 500 };
      case '503':
        return { status: 503, headers: { 'retry-after': retryAfter } };
      case 'reset':
        return { reset: true };
      case 'hang':
        return { hang: true };
      case 'slow': {
        const r = await opts.healthy(req);
        return { ...(typeof r === 'string' ? { content: r } : r), delayMs: opts.slowMs ?? 1500 };
      }
      case 'truncated':
        return { rawBody: '{"id": "chatcmpl-1", "choices": [{"index": 0, "message": {"role": "assis' };
      case 'cut': {
        const r = await opts.healthy(req);
        return { ...(typeof r === 'string' ? { content: r } : r), truncateAt: 40 };
      }
      case 'prose':
        return { content: 'I found a few entities in this sentence, mostly names of places and people.' };
      case 'wrong-schema':
        return { json: { result: 'none', confidence: 0.3 } };
      case 'empty':
        return { content: '' };
      case 'huge':
        bigAnswers.huge ??= repeatTo('{"text": "Paris", "type": "LOC"}, ', huge);
        return { content: bigAnswers.huge };
      case 'unbalanced':
        bigAnswers.unbalanced ??= repeatTo('{"a": [', huge);
        return { content: bigAnswers.unbalanced };
      case 'adversarial':
        bigAnswers.adversarial ??= adversarialAnswer(adversarialBytes);
        return { content: bigAnswers.adversarial };
      case 'text-plain': {
        const r = await opts.healthy(req);
        const content = typeof r === 'string' ? r : r.json !== undefined ? JSON.stringify(r.json) : r.content;
        return {
          rawBody: `model said: ${content}`,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
        };
      }
      case 'html':
        return { status: 502, rawBody: HTML_PAGE, headers: { 'content-type': 'text/html' } };
    }
  };

  const server = await startScriptedServer({
    chat: async (req) => {
      const mode = draw(req);
      served.push({ model: req.model, mode, at: Date.now() });
      return mode === 'ok' ? opts.healthy(req) : fault(mode, req);
    },
  });
  const closeServer = server.close;
  return Object.assign(server, {
    served,
    counts() {
      const c: Record<string, number> = {};
      for (const s of served) c[s.mode] = (c[s.mode] ?? 0) + 1;
      return c;
    },
    setFaults(f: Record<string, FaultPlan>) {
      faults = f;
    },
    close: async () => {
      bigAnswers = {};
      await closeServer();
    },
  });
}

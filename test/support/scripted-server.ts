/**
 * A real OpenAI-compatible HTTP server (node:http, 127.0.0.1, random port) whose answers are
 * scripted by the test. It speaks the non-streaming chat completions, embeddings and models
 * endpoints, and can inject the faults real servers produce: error statuses with Retry-After,
 * delays, hangs, connection resets, truncated or non-JSON bodies, other content types.
 * fault-server.ts draws these faults at a rate per model.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ChatMessage, TokenLogprob } from '../../src/engines/types.js';

export interface ScriptedRequest {
  path: string;
  model: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary request fields
  body: any;
  messages: ChatMessage[];
  /** Request headers (lower-case names), e.g. to check the Authorization header. */
  headers?: Record<string, string | string[] | undefined>;
  /** When its headers arrived (epoch ms). */
  at?: number;
}

export type ScriptedReply =
  | string
  | {
      content?: string;
      /** Serialised with JSON.stringify as the content. */
      json?: unknown;
      /** 'auto': split the content into tokens, each with logprob -0.01. */
      logprobs?: TokenLogprob[] | 'auto';
      usage?: Partial<{ prompt_tokens: number; completion_tokens: number; cached_tokens: number }>;
      status?: number;
      headers?: Record<string, string>;
      errorBody?: unknown;
      delayMs?: number;
      /** Never answer: the client must time out. */
      hang?: boolean;
      /** Drop the connection without answering (a reset). */
      reset?: boolean;
      /** Send this body verbatim (truncated / non-JSON faults), with `headers` (content-type too). */
      rawBody?: string;
      /** Announce the whole body's length but send only its first N bytes, then drop the connection. */
      truncateAt?: number;
    };

export interface ScriptedServerOptions {
  chat?: (req: ScriptedRequest) => ScriptedReply | Promise<ScriptedReply>;
  /** GET /v1/models: a status or raw body instead of the model list (start-up check faults). */
  modelsReply?: (headers: Record<string, string | string[] | undefined>) => ScriptedReply | undefined;
  embed?: (input: string[], model: string) => number[][] | Promise<number[][]>;
  /** Model ids listed by GET /v1/models (default: one, "scripted"). */
  models?: string[];
  /** Port on 127.0.0.1 (default: a free one). A fixed port keeps the base URL, and so the keys of a response cache, the same across runs. */
  port?: number;
}

export interface ScriptedServer {
  /** Base URL ending in /v1. */
  url: string;
  /** Every chat and embeddings request received, in arrival order. */
  requests: ScriptedRequest[];
  /** Requests being handled right now, and the most seen at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  close(): Promise<void>;
}

const TOKEN_RE = /\s+|\w+|[^\w\s]/g;

/** Splits text into pseudo-tokens, each with logprob -0.01 (and itself as the only alternative). */
export function autoLogprobs(content: string): TokenLogprob[] {
  return (content.match(TOKEN_RE) ?? []).map((token) => ({
    token,
    logprob: -0.01,
    top: [{ token, logprob: -0.01 }],
  }));
}

/** Dispatches on the request's model name; an unknown model gets a 404 like a real server. */
export function scriptByModel(
  map: Record<string, (req: ScriptedRequest) => ScriptedReply | Promise<ScriptedReply>>,
): (req: ScriptedRequest) => ScriptedReply | Promise<ScriptedReply> {
  return (req) => {
    const fn = map[req.model];
    if (!fn) {
      return {
        status: 404,
        errorBody: {
          error: { message: `model "${req.model}" does not exist`, type: 'invalid_request_error' },
        },
      };
    }
    return fn(req);
  };
}

/** A deterministic default embedding: 16 dims of character-trigram hashes, L2-normalised. */
function defaultEmbed(input: string[]): number[][] {
  return input.map((text) => {
    const v = new Array<number>(16).fill(0);
    const t = ` ${text.toLowerCase()} `;
    for (let i = 0; i + 3 <= t.length; i++) {
      let h = 2166136261;
      for (let j = i; j < i + 3; j++) h = Math.imul(h ^ t.charCodeAt(j), 16777619);
      v[(h >>> 0) % 16] += 1;
    }
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  });
}

const estimateTokens = (chars: number) => Math.max(1, Math.ceil(chars / 4));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  truncateAt?: number,
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  if (truncateAt !== undefined) {
    res.write(Buffer.from(text).subarray(0, truncateAt), () => res.socket?.destroy());
    return;
  }
  res.end(text);
}

function toOpenAILogprobs(lps: TokenLogprob[], topK: number) {
  return {
    content: lps.map((lp) => ({
      token: lp.token,
      logprob: lp.logprob,
      bytes: [...Buffer.from(lp.token, 'utf8')],
      top_logprobs: (lp.top ?? []).slice(0, topK).map((t) => ({
        token: t.token,
        logprob: t.logprob,
        bytes: [...Buffer.from(t.token, 'utf8')],
      })),
    })),
    refusal: null,
  };
}

export async function startScriptedServer(opts: ScriptedServerOptions): Promise<ScriptedServer> {
  const requests: ScriptedRequest[] = [];
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let maxInFlight = 0;
  let counter = 0;

  const handleChat = async (sreq: ScriptedRequest, res: ServerResponse) => {
    if (!opts.chat) {
      sendJson(res, 404, { error: { message: 'no chat script', type: 'not_found' } });
      return;
    }
    const raw = await opts.chat(sreq);
    const reply = typeof raw === 'string' ? { content: raw } : raw;
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (reply.hang) return; // keep the socket open, never answer
    if (reply.reset) {
      res.socket?.destroy();
      return;
    }
    const status = reply.status ?? 200;
    if (reply.rawBody !== undefined) {
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(reply.rawBody),
        ...reply.headers,
      });
      res.end(reply.rawBody);
      return;
    }
    if (status >= 400) {
      const body = reply.errorBody ?? {
        error: { message: `scripted error ${status}`, type: 'server_error', code: status },
      };
      sendJson(res, status, body, reply.headers);
      return;
    }
    const content = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.content ?? '');
    const promptChars = sreq.messages.reduce((n, m) => n + String(m.content ?? '').length, 0);
    const usage = {
      prompt_tokens: reply.usage?.prompt_tokens ?? estimateTokens(promptChars),
      completion_tokens: reply.usage?.completion_tokens ?? estimateTokens(content.length),
      cached_tokens: reply.usage?.cached_tokens ?? 0,
    };
    const lps = reply.logprobs === 'auto' ? autoLogprobs(content) : reply.logprobs;
    const topK = Number(sreq.body?.top_logprobs ?? 0);
    sendJson(
      res,
      status,
      {
        id: `chatcmpl-scripted-${++counter}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: sreq.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content, refusal: null },
            logprobs: lps ? toOpenAILogprobs(lps, topK) : null,
            finish_reason: 'stop',
          },
        ],
        usage: {
          prompt_tokens: usage.prompt_tokens,
          completion_tokens: usage.completion_tokens,
          total_tokens: usage.prompt_tokens + usage.completion_tokens,
          prompt_tokens_details: { cached_tokens: usage.cached_tokens },
        },
      },
      reply.headers,
      reply.truncateAt,
    );
  };

  const handleEmbed = async (sreq: ScriptedRequest, res: ServerResponse) => {
    const input: string[] = Array.isArray(sreq.body?.input)
      ? sreq.body.input
      : [String(sreq.body?.input ?? '')];
    const vectors = opts.embed ? await opts.embed(input, sreq.model) : defaultEmbed(input);
    const promptTokens = input.reduce((n, t) => n + estimateTokens(t.length), 0);
    sendJson(res, 200, {
      object: 'list',
      data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
      model: sreq.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  };

  const server = createServer((req, res) => {
    const arrived = Date.now();
    const path = (req.url ?? '/').split('?')[0];
    void (async () => {
      if (req.method === 'GET' && path === '/v1/models') {
        const r = opts.modelsReply?.({ ...req.headers });
        const reply = typeof r === 'string' ? { rawBody: r } : r;
        if (reply?.rawBody !== undefined) {
          res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
          res.end(reply.rawBody);
        } else if (reply?.status && reply.status >= 400)
          sendJson(res, reply.status, reply.errorBody ?? { error: { message: `scripted ${reply.status}` } });
        else {
          const ids = opts.models ?? ['scripted'];
          sendJson(res, 200, {
            object: 'list',
            data: ids.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'test' })),
          });
        }
        return;
      }
      if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/embeddings')) {
        sendJson(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'not_found' } });
        return;
      }
      // biome-ignore lint/suspicious/noExplicitAny: the parsed request body is untyped JSON
      let body: any;
      try {
        body = JSON.parse(await readBody(req));
      } catch {
        sendJson(res, 400, { error: { message: 'request body is not JSON', type: 'invalid_request_error' } });
        return;
      }
      const sreq: ScriptedRequest = {
        path,
        model: String(body?.model ?? ''),
        body,
        messages: Array.isArray(body?.messages) ? body.messages : [],
        headers: { ...req.headers },
        at: arrived,
      };
      requests.push(sreq);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('close', () => {
        inFlight--;
      });
      try {
        if (path === '/v1/embeddings') await handleEmbed(sreq, res);
        else await handleChat(sreq, res);
      } catch (e) {
        if (!res.headersSent)
          sendJson(res, 500, {
            error: { message: `script failed: ${(e as Error).message}`, type: 'server_error' },
          });
      }
    })();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

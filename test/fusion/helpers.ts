import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAIModelConfig } from '../../src/config/schema.js';
import { alignTokens } from '../../src/core/tokenize.js';
import type { NerDocument } from '../../src/core/types.js';
import type { TokenLogprob } from '../../src/engines/types.js';
import type { SlmLike } from '../../src/fusion/slm.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'];

/** A distribution over LABELS with `p` on `main` and the rest spread evenly. */
export function dist(main: string, p: number): Float64Array {
  const m = new Float64Array(LABELS.length).fill((1 - p) / (LABELS.length - 1));
  m[LABELS.indexOf(main)] = p;
  return m;
}

/** An SLM answering from a table keyed by token text; other tokens are 'O' with probability 0.97. */
export function tableSlm(table: Record<string, [string, number]>): SlmLike & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    labels: LABELS,
    scheme: 'BIO',
    calls,
    tagTokens(tokens) {
      calls.push(tokens);
      const rows = tokens.map((t) => table[t] ?? ['O', 0.97]);
      return { tags: rows.map((r) => r[0]), marginals: rows.map(([tag, p]) => dist(tag, p)) };
    },
  };
}

/**
 * A scripted answer whose tokens are `parts`, each with the given probability and, as the top
 * alternatives, itself followed by the `alternatives` given.
 */
export function answer(parts: Array<[string, number] | [string, number, Array<[string, number]>]>): {
  content: string;
  logprobs: TokenLogprob[];
} {
  return {
    content: parts.map((p) => p[0]).join(''),
    logprobs: parts.map(([token, p, alternatives]) => ({
      token,
      logprob: Math.log(p),
      top: [
        { token, logprob: Math.log(p) },
        ...(alternatives ?? []).map(([t, q]) => ({ token: t, logprob: Math.log(q) })),
      ],
    })),
  };
}

export function modelConfig(url: string, over: Partial<OpenAIModelConfig> = {}): OpenAIModelConfig {
  return {
    name: 'tagger-llm',
    engine: 'openai',
    baseUrl: url,
    model: 'served-model',
    concurrency: 4,
    timeoutMs: 5000,
    maxAttempts: 2,
    temperature: 0,
    maxTokens: 256,
    server: 'vllm',
    ...over,
  };
}

export const fastRetry = { retry: { baseDelayMs: 5, maxDelayMs: 20, maxRetryAfterMs: 1000 } };

export function doc(id: string, text: string, gold: Array<[string, string]> = []): NerDocument {
  let from = 0;
  const entities = gold.map(([t, type]) => {
    const start = text.indexOf(t, from);
    if (start < 0) throw new Error(`"${t}" not in "${text}"`);
    from = start + t.length;
    return { start, end: start + t.length, type, text: t };
  });
  return { id, text, entities };
}

/** The first `n` documents of a shared data split, tokens with offsets. */
export function sharedDocs(set: string, split: string, n: number): NerDocument[] {
  const file = path.resolve(repoRoot, '../shared/data', set, `${split}.jsonl`);
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(0, n);
  return lines.map((l) => {
    const d = JSON.parse(l);
    return {
      id: d.id,
      text: d.text,
      entities: d.entities,
      tags: d.tags,
      tokens: alignTokens(d.text, d.tokens),
    };
  });
}

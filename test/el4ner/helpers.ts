import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NerDocument } from '../../src/core/types.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const conllDir = path.resolve(repoRoot, '../shared/data/conll2003');

export function readJsonl(file: string, limit = Number.POSITIVE_INFINITY): NerDocument[] {
  const out: NerDocument[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line);
    out.push({ id: o.id, text: o.text, entities: o.entities });
    if (out.length >= limit) break;
  }
  return out;
}

/** Requests per (model, prompt kind), e.g. {"a:spans": 3}. */
export function countKinds(reqs: Array<{ model: string; kind: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of reqs) out[`${r.model}:${r.kind}`] = (out[`${r.model}:${r.kind}`] ?? 0) + 1;
  return out;
}

/** The paper's decision (hard vote, every entity verified, a 'no' vetoes), for tests of its mechanics. */
export const PAPER_DECISION = {
  decision: { rule: 'hard-vote' },
  verification: { policy: 'all' },
} as const;

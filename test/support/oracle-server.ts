/** A scripted OpenAI-compatible server whose models answer the pipeline's prompts from gold. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { NerDocument } from '../../src/core/types.js';
import { type Behaviour, goldByText, oracleAnswer, spanShapeOf } from './oracle.js';
import {
  type ScriptedReply,
  type ScriptedRequest,
  type ScriptedServer,
  startScriptedServer,
} from './scripted-server.js';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const sharedData = resolve(repoRoot, '../shared/data');

export function readGold(set: string, split: string, limit = Number.POSITIVE_INFINITY): NerDocument[] {
  const out: NerDocument[] = [];
  for (const line of readFileSync(resolve(sharedData, set, `${split}.jsonl`), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line);
    out.push({ id: o.id, text: o.text, entities: o.entities, ...(o.tokens ? { tokens: o.tokens } : {}) });
    if (out.length >= limit) break;
  }
  return out;
}

export function schemaName(req: ScriptedRequest): string {
  const b = req.body;
  return b?.response_format?.json_schema?.name ?? '';
}

/** The span shape the request's schema asks for (see spanShapeOf). */
export function requestSpanShape(req: ScriptedRequest) {
  return spanShapeOf(req.body?.response_format?.json_schema?.schema);
}

export async function startOracleServer(
  gold: readonly NerDocument[],
  behaviours: Record<string, Behaviour> = {},
  override?: (req: ScriptedRequest) => ScriptedReply | undefined,
  /** A fixed port on 127.0.0.1 (a model that comes back where it was), default a free one. */
  port?: number,
): Promise<ScriptedServer> {
  const byText = goldByText(gold);
  return startScriptedServer({
    ...(port !== undefined ? { port } : {}),
    chat: (req) =>
      override?.(req) ?? {
        json: oracleAnswer(
          byText,
          behaviours[req.model] ?? {},
          req.messages,
          schemaName(req),
          requestSpanShape(req),
        ),
      },
  });
}

export function oracleConfig(url: string, models: string[], extra: Record<string, unknown> = {}): Config {
  return parseConfig({
    models: models.map((name) => ({
      name,
      engine: 'openai',
      baseUrl: url,
      model: name,
      maxAttempts: 2,
      timeoutMs: 5000,
    })),
    labels: ['LOC', 'MISC', 'ORG', 'PER'],
    cache: { enabled: false },
    ...extra,
  });
}

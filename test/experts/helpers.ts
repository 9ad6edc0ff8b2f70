import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NerDocument } from '../../src/core/types.js';
import { type Behaviour, goldByText, oracleAnswer } from '../support/oracle.js';
import {
  type ScriptedReply,
  type ScriptedRequest,
  type ScriptedServer,
  scriptByModel,
  startScriptedServer,
} from '../support/scripted-server.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const dataDir = path.resolve(repoRoot, '../shared/data');

export function readJsonl(file: string): NerDocument[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const o = JSON.parse(l);
      return { id: o.id, text: o.text, entities: o.entities };
    });
}

/**
 * The first n sentences with entities whose entity strings each occur once in the sentence
 * (so that answers given as strings ground to exactly the gold offsets).
 */
export function cleanSample(docs: readonly NerDocument[], n: number): NerDocument[] {
  const out: NerDocument[] = [];
  for (const d of docs) {
    if (d.entities.length === 0) continue;
    if (d.entities.some((e) => d.text.indexOf(e.text) !== d.text.lastIndexOf(e.text))) continue;
    out.push(d);
    if (out.length === n) break;
  }
  return out;
}

/** A scripted-server handler answering the pipeline's prompts from gold with a behaviour. */
export function oracleHandler(
  docs: readonly NerDocument[],
  behaviour: Behaviour,
): (req: ScriptedRequest) => ScriptedReply {
  const byText = goldByText(docs);
  return (req) => ({
    json: oracleAnswer(byText, behaviour, req.messages, req.body?.response_format?.json_schema?.name ?? ''),
  });
}

export const openaiModel = (url: string, name: string) => ({
  name,
  engine: 'openai' as const,
  baseUrl: url,
  model: name,
  server: 'vllm' as const,
  maxAttempts: 1,
});

/** Strict micro-F1 from counts. */
export const f1 = (tp: number, fp: number, fn: number) => (tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn));

/**
 * A real scripted server whose models `a` and `b` answer as oracles of `docs`, each answer 40 ms
 * late: long enough for a command's progress to show and for a Ctrl-C to land mid-work.
 */
export function startSlowOracles(docs: readonly NerDocument[]): Promise<ScriptedServer> {
  const answer = oracleHandler(docs, {});
  const slow = (req: ScriptedRequest) =>
    new Promise<ReturnType<typeof answer>>((r) => setTimeout(() => r(answer(req)), 40));
  return startScriptedServer({ chat: scriptByModel({ a: slow, b: slow }) });
}

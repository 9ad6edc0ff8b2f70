/**
 * One model call of a stage, through the answer resolver: a usable answer's repairs and a failed
 * call (after the engine's retries and the resolver's re-ask) are recorded in the run's logs and in
 * the chunk's warnings; a failure becomes `undefined` (that model abstains in that stage).
 */
import { type AnswerReader, resolveAnswer } from '../answers/resolve.js';
import { ConfigError } from '../core/errors.js';
import { causeOf, type DocumentWarning, describeError, type FailureLog } from '../core/failures.js';
import type { ChatRequest, Engine, JsonSchema } from '../engines/types.js';

export interface Prompt {
  messages: ChatRequest['messages'];
  jsonSchema: { name: string; schema: JsonSchema };
  /** Completion tokens the answer may need (sized from the items asked). */
  maxTokens?: number;
}

/** Repairs per model and stage: how many answers needed one, and the kinds seen. */
export class RepairLog {
  private readonly byKey = new Map<
    string,
    { model: string; stage: string; answers: number; kinds: Map<string, number> }
  >();

  record(model: string, stage: string, repairs: readonly string[]): void {
    if (repairs.length === 0) return;
    const key = `${model}\u0000${stage}`;
    const r = this.byKey.get(key) ?? { model, stage, answers: 0, kinds: new Map() };
    r.answers++;
    for (const k of repairs) {
      const kind = k.replace(/:.*$/, '');
      r.kinds.set(kind, (r.kinds.get(kind) ?? 0) + 1);
    }
    this.byKey.set(key, r);
  }

  list(): Array<{ model: string; stage: string; answers: number; kinds: Record<string, number> }> {
    return [...this.byKey.values()].map((r) => ({
      model: r.model,
      stage: r.stage,
      answers: r.answers,
      kinds: Object.fromEntries([...r.kinds].sort()),
    }));
  }
}

export interface RunLogs {
  failures: FailureLog;
  repairs: RepairLog;
  /** Requests beyond the first per call (re-asks). */
  reasks: { count: number };
  signal?: AbortSignal;
}

/** The engine of a model name (the config was checked when the pipeline was assembled). */
export function engineOf(engines: ReadonlyMap<string, Engine>, model: string): Engine {
  const engine = engines.get(model);
  if (!engine) throw new ConfigError(`no engine for model "${model}"`);
  return engine;
}

export async function askModel<T>(
  engine: Engine,
  stage: string,
  prompt: Prompt,
  reader: AnswerReader<T>,
  logs: RunLogs,
  warnings?: DocumentWarning[],
): Promise<T | undefined> {
  const model = engine.name;
  try {
    const r = await resolveAnswer(
      engine,
      {
        messages: prompt.messages,
        jsonSchema: prompt.jsonSchema,
        stage,
        temperature: 0,
        ...(prompt.maxTokens !== undefined ? { maxTokens: prompt.maxTokens } : {}),
      },
      reader,
      { signal: logs.signal },
    );
    logs.reasks.count += r.requests - 1;
    if (r.repairs.length > 0) {
      logs.repairs.record(model, stage, r.repairs);
      warnings?.push({ kind: 'repaired', stage, model, message: r.repairs.join('; ').slice(0, 300) });
    }
    return r.value;
  } catch (e) {
    if (logs.signal?.aborted) throw e;
    logs.failures.record(model, stage, e);
    warnings?.push({ kind: 'failed', stage, model, message: describeError(e), cause: causeOf(e) });
    return undefined;
  }
}

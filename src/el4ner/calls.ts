/**
 * One model call of a stage, through the answer resolver: a usable answer's repairs and a failed
 * call (after the engine's retries and the resolver's re-ask) are recorded in the run's logs and in
 * the chunk's warnings; a failure becomes `undefined` (that model abstains in that stage).
 */
import { SchemaError } from '../answers/errors.js';
import { type AnswerReader, resolveAnswer } from '../answers/resolve.js';
import { ConfigError } from '../core/errors.js';
import { causeOf, type DocumentWarning, describeError, FailureLog } from '../core/failures.js';
import type { ChatRequest, Engine, JsonSchema } from '../engines/types.js';
import type { PromptContext } from './prompts.js';
import type { El4nerParts } from './state.js';

export interface Prompt {
  messages: ChatRequest['messages'];
  jsonSchema: { name: string; schema: JsonSchema };
  /** Completion tokens the answer may need (sized from the items asked); never below the model's own maxTokens. */
  maxTokens?: number;
  /** Ask for token logprobs with this many alternatives per token (soft votes read them). */
  topLogprobs?: number;
  /** The same request with its last (least similar) demonstration left out, when it has one. */
  fewerDemos?: () => Prompt;
}

/** `build(ctx)`, able to drop its demonstrations one by one for a model whose context cannot hold them all. */
export function withDemos(ctx: PromptContext, build: (ctx: PromptContext) => Prompt): Prompt {
  const prompt = build(ctx);
  if (ctx.demos.length === 0) return prompt;
  return { ...prompt, fewerDemos: () => withDemos({ ...ctx, demos: ctx.demos.slice(0, -1) }, build) };
}

/**
 * For a model with a fixed context (an embedded GGUF): the prompt with as many demonstrations left
 * out, least similar first, as it takes to leave the answer the tokens it may need. The start-up
 * check makes sure the instructions and k demonstrations fit; a long sentence can still overflow,
 * and fewer examples are better than a failed call. The repair phrase says how many were dropped.
 */
async function fitContext(engine: Engine, prompt: Prompt): Promise<{ prompt: Prompt; repairs: string[] }> {
  if (!engine.promptFit || !prompt.fewerDemos) return { prompt, repairs: [] };
  const answer = prompt.maxTokens ?? 1;
  let fitted = prompt;
  let dropped = 0;
  for (;;) {
    const { tokens, contextSize, answerRoom } = await engine.promptFit(fitted.messages);
    if (answerRoom >= answer || !fitted.fewerDemos) {
      const repairs = dropped
        ? [`demonstrations left out: ${dropped} to fit contextSize ${contextSize} (${tokens} prompt tokens)`]
        : [];
      return { prompt: fitted, repairs };
    }
    fitted = fitted.fewerDemos();
    dropped++;
  }
}

/** Answers of one model in one stage that needed repairs, and how often each kind of repair was made. */
export interface RepairCount {
  model: string;
  stage: string;
  answers: number;
  kinds: Record<string, number>;
}

/**
 * Repairs per model and stage: how many answers needed one, and the kinds seen. A repair is a
 * phrase "kind: detail" (`type mapped: "Person" -> PER`); its kind is what comes before the colon.
 */
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
      const kind = k.replace(/:.*$/s, '');
      r.kinds.set(kind, (r.kinds.get(kind) ?? 0) + 1);
    }
    this.byKey.set(key, r);
  }

  /** Adds counts listed by another log (a run's into the method's lifetime total). */
  add(c: RepairCount): void {
    const key = `${c.model}\u0000${c.stage}`;
    const r = this.byKey.get(key) ?? { model: c.model, stage: c.stage, answers: 0, kinds: new Map() };
    r.answers += c.answers;
    for (const [k, n] of Object.entries(c.kinds)) r.kinds.set(k, (r.kinds.get(k) ?? 0) + n);
    this.byKey.set(key, r);
  }

  /** Sorted by model, then stage. */
  list(): RepairCount[] {
    return [...this.byKey.values()]
      .map((r) => ({
        model: r.model,
        stage: r.stage,
        answers: r.answers,
        kinds: Object.fromEntries([...r.kinds].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      }))
      .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : a.stage < b.stage ? -1 : 1));
  }

  /** One line per model and stage, for stderr and the cost table. */
  lines(): string[] {
    return this.list().map(
      (r) =>
        `model ${r.model} needed repairs in ${r.answers} answer(s) of stage ${r.stage}: ${Object.entries(
          r.kinds,
        )
          .map(([k, n]) => `${k} ${n}x`)
          .join(', ')}`,
    );
  }
}

export interface RunLogs {
  failures: FailureLog;
  repairs: RepairLog;
  /** Requests beyond the first per call (re-asks), in all and per model and stage. */
  reasks: { count: number; byKey?: Map<string, number> };
  signal?: AbortSignal;
}

export function newRunLogs(signal?: AbortSignal): RunLogs {
  return {
    failures: new FailureLog(),
    repairs: new RepairLog(),
    reasks: { count: 0, byKey: new Map() },
    ...(signal ? { signal } : {}),
  };
}

/** Re-asks per model and stage, sorted. */
export function reaskList(logs: RunLogs): Array<{ model: string; stage: string; count: number }> {
  return [...(logs.reasks.byKey ?? new Map<string, number>())]
    .map(([k, count]) => {
      const [model, stage] = k.split('\u0000');
      return { model, stage, count };
    })
    .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : a.stage < b.stage ? -1 : 1));
}

/** Where one chunk's call leaves its trace: the chunk's warnings, and the models that answered unusably. */
export interface CallSink {
  warnings: DocumentWarning[];
  /** Models that answered, but with nothing usable even after the re-ask (not a transport failure). */
  unusable?: Set<string>;
}

export interface AskOptions {
  sink?: CallSink;
  /** The model's configured maxTokens: a prompt's own size never lowers it. */
  defaultMaxTokens?: number;
}

/** The engine of a model name (the config was checked when the pipeline was assembled). */
export function engineOf(engines: ReadonlyMap<string, Engine>, model: string): Engine {
  const engine = engines.get(model);
  if (!engine) throw new ConfigError(`no engine for model "${model}"`);
  return engine;
}

/** max(the model's configured maxTokens, what the prompt's items need); the wrapper's default when neither is known. */
export function requestTokens(prompt: Prompt, defaultMaxTokens?: number): number | undefined {
  if (prompt.maxTokens === undefined) return defaultMaxTokens;
  return Math.max(prompt.maxTokens, defaultMaxTokens ?? 0);
}

function countReasks(logs: RunLogs, model: string, stage: string, requests: number) {
  if (requests <= 1) return;
  logs.reasks.count += requests - 1;
  const key = `${model}\u0000${stage}`;
  logs.reasks.byKey?.set(key, (logs.reasks.byKey.get(key) ?? 0) + requests - 1);
}

export async function askModel<T>(
  engine: Engine,
  stage: string,
  prompt: Prompt,
  reader: AnswerReader<T>,
  logs: RunLogs,
  options: AskOptions = {},
): Promise<T | undefined> {
  const model = engine.name;
  const sink = options.sink;
  const maxTokens = requestTokens(prompt, options.defaultMaxTokens);
  try {
    const fitted = await fitContext(engine, prompt);
    const r = await resolveAnswer(
      engine,
      {
        messages: fitted.prompt.messages,
        jsonSchema: prompt.jsonSchema,
        stage,
        temperature: 0,
        ...(maxTokens !== undefined ? { maxTokens } : {}),
        ...(prompt.topLogprobs !== undefined ? { logprobs: true, topLogprobs: prompt.topLogprobs } : {}),
      },
      reader,
      { signal: logs.signal },
    );
    countReasks(logs, model, stage, r.requests);
    const repairs = [...fitted.repairs, ...r.repairs];
    if (repairs.length > 0) {
      logs.repairs.record(model, stage, repairs);
      sink?.warnings.push({ kind: 'repaired', stage, model, message: repairs.join('; ').slice(0, 300) });
    }
    return r.value;
  } catch (e) {
    if (logs.signal?.aborted) throw e;
    logs.failures.record(model, stage, e);
    if (e instanceof SchemaError) {
      sink?.unusable?.add(model);
      countReasks(logs, model, stage, e.requests ?? 1);
    }
    sink?.warnings.push({ kind: 'failed', stage, model, message: describeError(e), cause: causeOf(e) });
    return undefined;
  }
}

/** One model's call in a stage of a configured pipeline (its engine and its maxTokens from the parts). */
export function ask<T>(
  parts: Pick<El4nerParts, 'engines' | 'maxTokens'>,
  model: string,
  stage: string,
  prompt: Prompt,
  reader: AnswerReader<T>,
  logs: RunLogs,
  sink?: CallSink,
): Promise<T | undefined> {
  return askModel(engineOf(parts.engines, model), stage, prompt, reader, logs, {
    ...(sink ? { sink } : {}),
    ...(parts.maxTokens?.has(model) ? { defaultMaxTokens: parts.maxTokens.get(model) } : {}),
  });
}

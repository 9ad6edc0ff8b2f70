/**
 * A hard limit on LLM calls. Engines wrapped by `guardEngines` refuse a request (BudgetExhausted,
 * which the pipeline counts as a model failure) when the calls the cost ledger has recorded, plus
 * the calls still in flight, plus this one could pass the limit. A request with a JSON schema
 * reserves 2 calls, because the engine layer may ask once more after an invalid answer; the
 * reservation is released when the answer is back. A request that does not fit while others are
 * in flight waits for them (they may turn out cheaper than reserved) and is refused only when
 * nothing is in flight. Cache hits cost nothing (the ledger does not count them as calls): a
 * request the response cache already holds (`isCached`) passes without a reservation. So the
 * ledger's `total.calls` can never exceed the limit.
 */
import type { Config } from '../config/schema.js';
import { chatCacheKey, type ResponseCache } from '../engines/cache.js';
import type { CostLedger } from '../engines/cost.js';
import type { ChatRequest, Engine } from '../engines/types.js';

export class BudgetExhausted extends Error {
  constructor(limit: number) {
    super(`the budget of ${limit} LLM calls is spent`);
    this.name = 'BudgetExhausted';
  }
}

export class CallBudget {
  private reserved = 0;
  /** Requests refused since the last `resetRefusals()`. */
  refused = 0;

  constructor(
    readonly limit: number,
    readonly ledger: CostLedger,
  ) {}

  get used(): number {
    return this.ledger.summary().total.calls;
  }

  /** Calls left, counting in-flight reservations as spent. */
  get remaining(): number {
    return Math.max(0, this.limit - this.used - this.reserved);
  }

  resetRefusals(): void {
    this.refused = 0;
  }

  private waiters: Array<() => void> = [];

  async spend<T>(need: number, fn: () => Promise<T>): Promise<T> {
    while (this.used + this.reserved + need > this.limit) {
      if (this.reserved === 0) {
        this.refused++;
        throw new BudgetExhausted(this.limit);
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
    this.reserved += need;
    try {
      return await fn();
    } finally {
      this.reserved -= need;
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
    }
  }
}

/** Whether the response cache already holds the answer (then the request costs no call). */
export type CachePeek = (model: string, req: ChatRequest) => boolean;

/**
 * A peek into the engine set's response cache, computing the key as the engine wrapper does
 * (model defaults filled in first; only temperature-0 requests are cached).
 */
export function cachePeek(
  config: Config,
  cache: ResponseCache | undefined,
  engines: ReadonlyMap<string, Engine>,
): CachePeek {
  if (!cache) return () => false;
  return (model, request) => {
    const m = config.models.find((x) => x.name === model);
    const e = engines.get(model);
    if (!m || !e) return false;
    const req: ChatRequest = {
      ...request,
      temperature: request.temperature ?? m.temperature,
      maxTokens: request.maxTokens ?? m.maxTokens,
      seed: request.seed ?? m.seed,
    };
    if ((req.temperature ?? 0) !== 0) return false;
    return cache.getChat(chatCacheKey(e.identity, req)) !== undefined;
  };
}

/** The same engines, each request going through the budget. */
export function guardEngines(
  engines: ReadonlyMap<string, Engine>,
  budget: CallBudget,
  isCached: CachePeek = () => false,
): Map<string, Engine> {
  const out = new Map<string, Engine>();
  for (const [name, e] of engines) {
    out.set(name, {
      name: e.name,
      get identity() {
        return e.identity;
      },
      chat: (req, opts) =>
        isCached(name, req)
          ? e.chat(req, opts)
          : budget.spend(req.jsonSchema ? 2 : 1, () => e.chat(req, opts)),
      embed: (texts, opts) => budget.spend(1, () => e.embed(texts, opts)),
      close: () => e.close(),
    });
  }
  return out;
}

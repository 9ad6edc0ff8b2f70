/**
 * The server's methods, one per distinct label set / stage options a request asks for. Options are
 * normalised first: the label list deduplicated (its order kept: it is the order of the list in the
 * prompts) and left out when it is the config's own; the stage switches merged over the config's
 * (so `{}` or the config's values are the default method). The supervised tagger alone has no
 * stages and a fixed label set: stages do not apply to it (ignored), other labels than its own are
 * refused (400). At most `max` methods are kept; a new one takes the slot of the least recently
 * used idle one (never the default), which is closed; when every slot has requests in flight, 429.
 */
import { methodKind } from '../assemble/index.js';
import type { Config } from '../config/schema.js';
import type { Method } from '../core/method.js';
import { CostLedger, type CostSummary } from '../engines/cost.js';
import { fixedLabelsProblem } from '../slm/method.js';
import { HttpError } from './http-error.js';

export interface MethodOptions {
  labels?: string[];
  stages?: Record<string, unknown>;
}

interface Slot {
  method: Promise<Method>;
  /** Requests (and jobs) using it now. */
  users: number;
  lastUsed: number;
}

/** A JSON value with its object keys sorted (a stable key). */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  return v;
}

export class MethodSlots {
  private readonly slots = new Map<string, Slot>();
  private readonly closing = new Set<Promise<void>>();
  /** Costs of the methods closed to make room, so the cumulative metrics never go down. */
  private readonly retired = new CostLedger();
  private readonly kind: ReturnType<typeof methodKind>;
  private readonly defaultKey: string;
  private readonly max: number;

  constructor(
    private readonly o: {
      config: Config;
      make: (config: Config) => Promise<Method>;
      log: (message: string) => void;
      /** Methods kept at once, the default one included (default 8). */
      max?: number;
    },
  ) {
    this.kind = methodKind(o.config);
    this.defaultKey = JSON.stringify(canonical({ labels: null, stages: { ...o.config.stages } }));
    this.max = o.max ?? 8;
  }

  /** Runs `work` with the method of these options, which is not closed before `work` ends. */
  async with<T>(body: MethodOptions, work: (m: Method) => Promise<T>): Promise<T> {
    const { method, release } = await this.lease(body);
    try {
      return await work(method);
    } finally {
      release();
    }
  }

  /** The methods built so far (a method that failed to build has no costs and is left out). */
  async settled(): Promise<Method[]> {
    const out: Method[] = [];
    for (const slot of this.slots.values()) {
      try {
        out.push(await slot.method);
      } catch {
        // left out
      }
    }
    return out;
  }

  retiredCost(): CostSummary {
    return this.retired.summary();
  }

  async close(): Promise<void> {
    await Promise.all([...this.closing]);
    for (const m of await this.settled()) await m.close();
  }

  private async normalise(
    body: MethodOptions,
  ): Promise<{ key: string; labels?: string[]; stages: Record<string, unknown> }> {
    const { config } = this.o;
    let labels = body.labels ? [...new Set(body.labels)] : undefined;
    if (this.kind === 'slm') {
      if (labels) {
        const own = await this.with({}, async (m) => m.info.labels);
        const problem = fixedLabelsProblem(labels, own);
        if (problem) throw new HttpError(400, `labels: ${problem}`);
      }
      return { key: 'default', stages: { ...config.stages } };
    }
    if (labels && JSON.stringify(labels) === JSON.stringify(config.labels ?? null)) labels = undefined;
    const stages = { ...config.stages, ...(body.stages ?? {}) };
    return { key: JSON.stringify(canonical({ labels: labels ?? null, stages })), labels, stages };
  }

  private isDefault(key: string): boolean {
    return key === 'default' || key === this.defaultKey;
  }

  /** Closes an idle method taken out of the map; its costs go to `retired`. */
  private retire(key: string, slot: Slot): void {
    this.o.log(
      `closing the least recently used method (${key}) to make room for another label set / stage options`,
    );
    const done: Promise<void> = slot.method
      .then(async (m) => {
        this.retired.merge(m.cost());
        await m.close();
      })
      .catch(() => {})
      .finally(() => this.closing.delete(done));
    this.closing.add(done);
  }

  /** The method for these options, counted as in use (never closed) until `release` is called. */
  async lease(body: MethodOptions): Promise<{ method: Method; release: () => void }> {
    const { key, labels, stages } = await this.normalise(body);
    let slot = this.slots.get(key);
    if (!slot) {
      if (this.slots.size >= this.max) {
        const idle = [...this.slots].filter(([k, s]) => s.users === 0 && !this.isDefault(k));
        idle.sort((a, b) => a[1].lastUsed - b[1].lastUsed);
        const victim = idle[0];
        if (!victim)
          throw new HttpError(
            429,
            `all ${this.max} methods (distinct label sets / stage options) are in use by requests in flight; retry later or with the defaults`,
          );
        this.slots.delete(victim[0]);
        this.retire(victim[0], victim[1]);
      }
      const config: Config = {
        ...this.o.config,
        ...(labels ? { labels } : {}),
        stages: stages as Config['stages'],
      };
      const built = this.o.make(config);
      const created: Slot = { method: built, users: 0, lastUsed: Date.now() };
      built.catch(() => {
        if (this.slots.get(key) === created) this.slots.delete(key);
      });
      this.slots.set(key, created);
      slot = created;
    }
    const s = slot;
    s.users++;
    s.lastUsed = Date.now();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      s.users--;
      s.lastUsed = Date.now();
    };
    try {
      return { method: await s.method, release };
    } catch (e) {
      release();
      throw e;
    }
  }
}

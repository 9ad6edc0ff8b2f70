/**
 * Token and time accounting per pipeline stage and per model, with response-cache counters, what
 * went wrong (calls failed after their retries, answers that could not be used, calls refused by
 * an open circuit breaker) and the breaker of each model.
 */
import type { BreakerReport } from './breaker.js';

export interface Totals {
  /** Model calls (a call may take several HTTP requests). */
  calls: number;
  /** HTTP requests sent, retries included. */
  requests: number;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  ms: number;
  /** Calls that failed for good after their retries. */
  failedCalls: number;
  /** Answers the resolver could not use (no JSON, wrong schema): each one was asked again or lost. */
  unusable: number;
  /** Calls refused at once because the model's circuit breaker was open (no request sent). */
  refused: number;
}

export interface CostEntry {
  stage: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  ms: number;
  /** Served from the response cache: counts as a cache hit, not as a call or tokens spent. */
  cached: boolean;
  failed?: boolean;
  /** HTTP requests the call took (default 1). */
  requests?: number;
}

export interface CostSummary {
  byStage: Record<string, Totals>;
  byModel: Record<string, Totals>;
  total: Totals;
  cache: { hits: number; misses: number };
  /** The circuit breaker of each model that has one. */
  breakers?: Record<string, BreakerReport>;
}

export const zeroTotals = (): Totals => ({
  calls: 0,
  requests: 0,
  promptTokens: 0,
  completionTokens: 0,
  cachedPromptTokens: 0,
  ms: 0,
  failedCalls: 0,
  unusable: 0,
  refused: 0,
});

const TOTAL_KEYS = Object.keys(zeroTotals()) as Array<keyof Totals>;

function addInto(into: Totals, t: Partial<Totals>, sign = 1): void {
  for (const k of TOTAL_KEYS) into[k] += sign * (t[k] ?? 0);
}

/** b - a, field by field (a missing side counts as zero). */
export function diffTotals(a: Partial<Totals> | undefined, b: Partial<Totals> | undefined): Totals {
  const out = zeroTotals();
  addInto(out, b ?? {});
  addInto(out, a ?? {}, -1);
  return out;
}

function totalsFor(map: Map<string, Totals>, key: string): Totals {
  let cur = map.get(key);
  if (!cur) {
    cur = zeroTotals();
    map.set(key, cur);
  }
  return cur;
}

export class CostLedger {
  private byStage = new Map<string, Totals>();
  private byModel = new Map<string, Totals>();
  private total = zeroTotals();
  private hits = 0;
  private misses = 0;
  private readonly breakers = new Map<string, () => BreakerReport>();
  private readonly mergedBreakers = new Map<string, BreakerReport>();

  record(e: CostEntry): void {
    if (e.cached) {
      this.hits++;
      return;
    }
    this.add(e.stage, e.model, {
      calls: 1,
      requests: e.requests ?? 1,
      promptTokens: e.promptTokens,
      completionTokens: e.completionTokens,
      cachedPromptTokens: e.cachedPromptTokens,
      ms: e.ms,
      failedCalls: e.failed ? 1 : 0,
    });
  }

  /** An answer of `model` in `stage` from which nothing usable could be read. */
  recordUnusable(stage: string, model: string): void {
    this.add(stage, model, { unusable: 1 });
  }

  /** A call refused by the model's open circuit breaker. */
  recordRefused(stage: string, model: string): void {
    this.add(stage, model, { refused: 1 });
  }

  /** Shows this model's breaker in summaries and the table. */
  watchBreaker(model: string, report: () => BreakerReport): void {
    this.breakers.set(model, report);
  }

  /** Counts a lookup that missed the cache (the call itself is recorded separately). */
  recordMiss(): void {
    this.misses++;
  }

  private add(stage: string, model: string, t: Partial<Totals>): void {
    addInto(totalsFor(this.byStage, stage), t);
    addInto(totalsFor(this.byModel, model), t);
    addInto(this.total, t);
  }

  summary(): CostSummary {
    const copy = (m: Map<string, Totals>) => Object.fromEntries([...m].map(([k, v]) => [k, { ...v }]));
    const breakers = new Map(this.mergedBreakers);
    for (const [m, report] of this.breakers) breakers.set(m, report());
    return {
      byStage: copy(this.byStage),
      byModel: copy(this.byModel),
      total: { ...this.total },
      cache: { hits: this.hits, misses: this.misses },
      ...(breakers.size ? { breakers: Object.fromEntries([...breakers].sort()) } : {}),
    };
  }

  /** Adds another ledger's summary (e.g. from a queue worker). */
  merge(other: CostSummary): void {
    for (const [k, t] of Object.entries(other.byStage)) addInto(totalsFor(this.byStage, k), t);
    for (const [k, t] of Object.entries(other.byModel)) addInto(totalsFor(this.byModel, k), t);
    addInto(this.total, other.total);
    this.hits += other.cache.hits;
    this.misses += other.cache.misses;
    for (const [m, b] of Object.entries(other.breakers ?? {})) {
      const cur = this.mergedBreakers.get(m);
      this.mergedBreakers.set(
        m,
        cur ? { ...b, opened: cur.opened + b.opened, refused: cur.refused + b.refused } : { ...b },
      );
    }
  }

  /** A small plain-text table for stderr. */
  format(): string {
    const s = this.summary();
    const header = [
      '',
      'calls',
      'prompt',
      'completion',
      'cached',
      'seconds',
      'failed',
      'requests',
      'unusable',
      'refused',
    ];
    const row = (label: string, t: Totals) => [
      label,
      String(t.calls),
      String(t.promptTokens),
      String(t.completionTokens),
      String(t.cachedPromptTokens),
      (t.ms / 1000).toFixed(1),
      String(t.failedCalls),
      String(t.requests),
      String(t.unusable),
      String(t.refused),
    ];
    const rows: string[][] = [header];
    for (const [k, t] of Object.entries(s.byStage).sort()) rows.push(row(`stage ${k}`, t));
    for (const [k, t] of Object.entries(s.byModel).sort()) rows.push(row(`model ${k}`, t));
    rows.push(row('total', s.total));
    const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    const lines = rows.map((r) =>
      r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '),
    );
    lines.push(`response cache: ${s.cache.hits} hits, ${s.cache.misses} misses`);
    lines.push(
      'failed: calls lost after their retries; requests: HTTP requests, retries included; unusable: answers with no usable JSON (asked again or lost); refused: calls not sent, circuit breaker open',
    );
    for (const [m, b] of Object.entries(s.breakers ?? {}))
      if (b.opened > 0 || b.state !== 'closed')
        lines.push(
          `circuit breaker of model ${m}: ${b.state}, opened ${b.opened} time(s), ${b.refused} call(s) refused${b.lastError ? `; last error: ${b.lastError}` : ''}`,
        );
    return lines.join('\n');
  }

  /**
   * The table ending in a newline, or '' when no model was ever asked (no call, cache lookup or
   * circuit breaker recorded: the supervised tagger alone), whose table would be all zeros.
   */
  formatIfAsked(): string {
    const s = this.summary();
    const asked =
      Object.keys(s.byModel).length > 0 || s.cache.hits + s.cache.misses > 0 || s.breakers !== undefined;
    return asked ? `${this.format()}\n` : '';
  }
}

/** Token and time accounting per pipeline stage and per model, with response-cache counters. */

export interface Totals {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  ms: number;
  failedCalls: number;
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
}

export interface CostSummary {
  byStage: Record<string, Totals>;
  byModel: Record<string, Totals>;
  total: Totals;
  cache: { hits: number; misses: number };
}

export const zeroTotals = (): Totals => ({
  calls: 0,
  promptTokens: 0,
  completionTokens: 0,
  cachedPromptTokens: 0,
  ms: 0,
  failedCalls: 0,
});

function addInto(into: Totals, t: Totals): void {
  into.calls += t.calls;
  into.promptTokens += t.promptTokens;
  into.completionTokens += t.completionTokens;
  into.cachedPromptTokens += t.cachedPromptTokens;
  into.ms += t.ms;
  into.failedCalls += t.failedCalls;
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

  record(e: CostEntry): void {
    if (e.cached) {
      this.hits++;
      return;
    }
    const t: Totals = {
      calls: 1,
      promptTokens: e.promptTokens,
      completionTokens: e.completionTokens,
      cachedPromptTokens: e.cachedPromptTokens,
      ms: e.ms,
      failedCalls: e.failed ? 1 : 0,
    };
    this.add(e.stage, e.model, t);
  }

  /** Counts a lookup that missed the cache (the call itself is recorded separately). */
  recordMiss(): void {
    this.misses++;
  }

  private add(stage: string, model: string, t: Totals): void {
    addInto(totalsFor(this.byStage, stage), t);
    addInto(totalsFor(this.byModel, model), t);
    addInto(this.total, t);
  }

  summary(): CostSummary {
    const copy = (m: Map<string, Totals>) => Object.fromEntries([...m].map(([k, v]) => [k, { ...v }]));
    return {
      byStage: copy(this.byStage),
      byModel: copy(this.byModel),
      total: { ...this.total },
      cache: { hits: this.hits, misses: this.misses },
    };
  }

  /** Adds another ledger's summary (e.g. from a queue worker). */
  merge(other: CostSummary): void {
    for (const [k, t] of Object.entries(other.byStage)) addInto(totalsFor(this.byStage, k), t);
    for (const [k, t] of Object.entries(other.byModel)) addInto(totalsFor(this.byModel, k), t);
    addInto(this.total, other.total);
    this.hits += other.cache.hits;
    this.misses += other.cache.misses;
  }

  /** A small plain-text table for stderr. */
  format(): string {
    const s = this.summary();
    const header = ['', 'calls', 'prompt', 'completion', 'cached', 'seconds', 'failed'];
    const row = (label: string, t: Totals) => [
      label,
      String(t.calls),
      String(t.promptTokens),
      String(t.completionTokens),
      String(t.cachedPromptTokens),
      (t.ms / 1000).toFixed(1),
      String(t.failedCalls),
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
    return lines.join('\n');
  }
}

/** Prometheus metrics: HTTP requests and latency, LLM calls and tokens by model, response cache. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CostLedger, type CostSummary } from '../engines/cost.js';

export function createMetrics(costs: () => CostSummary[]) {
  const registry = new Registry();
  const requests = new Counter({
    name: 'el4ner_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'el4ner_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const sum = () => {
    const all = new CostLedger();
    for (const c of costs()) all.merge(c);
    const s = all.summary();
    return { byModel: s.byModel, hits: s.cache.hits, misses: s.cache.misses };
  };
  new Gauge({
    name: 'el4ner_llm_calls',
    help: 'LLM calls so far by model (cumulative)',
    labelNames: ['model', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [m, t] of Object.entries(sum().byModel)) {
        this.set({ model: m, outcome: 'ok' }, t.calls - t.failedCalls);
        this.set({ model: m, outcome: 'failed' }, t.failedCalls);
        this.set({ model: m, outcome: 'unusable_answer' }, t.unusable ?? 0);
        this.set({ model: m, outcome: 'refused_breaker_open' }, t.refused ?? 0);
      }
    },
  });
  new Gauge({
    name: 'el4ner_llm_tokens',
    help: 'LLM tokens so far by model and kind (cumulative)',
    labelNames: ['model', 'kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [m, t] of Object.entries(sum().byModel)) {
        this.set({ model: m, kind: 'prompt' }, t.promptTokens);
        this.set({ model: m, kind: 'completion' }, t.completionTokens);
        this.set({ model: m, kind: 'cached_prompt' }, t.cachedPromptTokens);
      }
    },
  });
  new Gauge({
    name: 'el4ner_cache_lookups',
    help: 'Response cache lookups so far by result (cumulative)',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const s = sum();
      this.set({ result: 'hit' }, s.hits);
      this.set({ result: 'miss' }, s.misses);
    },
  });
  return { registry, requests, latency };
}

/**
 * The paper's ablation rows (`el4ner ablate`): each row is the configured pipeline with one stage
 * switched (stage overrides, as `el4ner eval` flags give them), and the table they make.
 *
 * Cost is what the pipeline asked for, whether the response cache answered or the model did:
 * a re-run served from the cache still shows the calls and tokens the row needs, so the table is
 * the same on a cold and a warm cache (the requests really sent are reported apart).
 */
import type { ChatRequest, ChatResponse, Engine } from '../engines/types.js';
import type { StageOverrides } from './switches.js';

export interface AblationRow {
  name: string;
  description: string;
  stages: StageOverrides;
}

export const ABLATION_ROWS: readonly AblationRow[] = [
  { name: 'full', description: 'the configured pipeline', stages: {} },
  {
    name: 'sentence-retrieval',
    description: 'sentence-level instead of span-level retrieval',
    stages: { retrieval: 'sentence-embedding' },
  },
  { name: 'no-retrieval', description: 'no retrieval (zero-shot)', stages: { retrieval: 'none' } },
  { name: 'single-extraction', description: 'single extraction', stages: { extraction: 'single' } },
  {
    name: 'single-classification',
    description: 'single classification',
    stages: { classification: 'single' },
  },
  { name: 'no-verification', description: 'no verification', stages: { verification: false } },
  {
    name: 'no-decomposition',
    description: 'no decomposition (one joint extract-and-type call)',
    stages: { decomposition: false },
  },
];

export interface UsageTotals {
  /** Chat calls the pipeline made (cache hits included). */
  calls: number;
  promptTokens: number;
  completionTokens: number;
  /** Of the calls, those the response cache answered. */
  cached: number;
  byStage: Record<string, { calls: number; promptTokens: number; completionTokens: number }>;
}

const zero = (): UsageTotals => ({ calls: 0, promptTokens: 0, completionTokens: 0, cached: 0, byStage: {} });

/** Counts every chat call of the engines it wraps, with the usage of its answer (cached or not). */
export class UsageCounter {
  private t = zero();

  wrap(engines: ReadonlyMap<string, Engine>): Map<string, Engine> {
    return new Map([...engines].map(([name, e]) => [name, this.wrapOne(e)]));
  }

  private wrapOne(engine: Engine): Engine {
    const count = (req: ChatRequest, r: ChatResponse) => {
      const stage = req.stage ?? 'other';
      const s = this.t.byStage[stage] ?? { calls: 0, promptTokens: 0, completionTokens: 0 };
      this.t.byStage[stage] = s;
      for (const into of [this.t, s]) {
        into.calls++;
        into.promptTokens += r.usage.promptTokens;
        into.completionTokens += r.usage.completionTokens;
      }
      if (r.fromCache) this.t.cached++;
    };
    return {
      name: engine.name,
      get identity() {
        return engine.identity;
      },
      async chat(req, opts) {
        const r = await engine.chat(req, opts);
        count(req, r);
        return r;
      },
      embed: (texts, opts) => engine.embed(texts, opts),
      close: () => engine.close(),
    };
  }

  /** Totals so far (a copy). */
  totals(): UsageTotals {
    return structuredClone(this.t);
  }

  /** What was counted since `before`. */
  since(before: UsageTotals): UsageTotals {
    const now = this.totals();
    const byStage: UsageTotals['byStage'] = {};
    for (const [k, v] of Object.entries(now.byStage)) {
      const b = before.byStage[k] ?? { calls: 0, promptTokens: 0, completionTokens: 0 };
      if (v.calls - b.calls > 0)
        byStage[k] = {
          calls: v.calls - b.calls,
          promptTokens: v.promptTokens - b.promptTokens,
          completionTokens: v.completionTokens - b.completionTokens,
        };
    }
    return {
      calls: now.calls - before.calls,
      promptTokens: now.promptTokens - before.promptTokens,
      completionTokens: now.completionTokens - before.completionTokens,
      cached: now.cached - before.cached,
      byStage,
    };
  }
}

export interface AblationResult {
  row: string;
  description: string;
  p: number;
  r: number;
  f1: number;
  tp: number;
  fp: number;
  fn: number;
  sentences: number;
  perSentence: { calls: number; promptTokens: number; completionTokens: number };
  usage: UsageTotals;
  /** Requests sent to the models (cache misses). */
  requests: number;
  seconds: number;
  failures: number;
  /** Documents whose output was degraded (a model's answer lost): the row's score is not the pipeline's own. */
  degraded: number;
}

const pct = (x: number) => (100 * x).toFixed(2);

/** The Markdown table of the rows, with the F1 change against the first row. */
export function ablationMarkdown(
  results: readonly AblationResult[],
  title: string,
  notes: readonly string[] = [],
): string {
  const base = results[0]?.f1;
  const lines = [
    `## ${title}`,
    '',
    '| row | P | R | F1 | ΔF1 | calls / sentence | tokens / sentence (prompt + completion) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    const delta =
      base === undefined || r === results[0] ? '' : `${r.f1 >= base ? '+' : ''}${pct(r.f1 - base)}`;
    const ps = r.perSentence;
    lines.push(
      `| ${r.description} | ${pct(r.p)} | ${pct(r.r)} | ${pct(r.f1)} | ${delta} | ${ps.calls.toFixed(2)} | ${(ps.promptTokens + ps.completionTokens).toFixed(0)} (${ps.promptTokens.toFixed(0)} + ${ps.completionTokens.toFixed(0)}) |`,
    );
  }
  if (notes.length) lines.push('', ...notes);
  return `${lines.join('\n')}\n`;
}

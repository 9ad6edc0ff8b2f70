/**
 * The search of `el4ner tune` on one part of the dev sample (tune.ts decides which parts and what
 * is returned). A change has to earn its place: it is kept only when its strict micro-F1 is higher
 * and it wins in at least `confidence` of paired bootstrap resamples of the part's sentences.
 *
 * Steps: 0. the plain vote of the configured backbones at the strict majority (another "m of n"
 * replaces it only when it wins clearly), which the default must beat clearly; 1. drop the
 * backbone with the worst span F1 while that helps; 2. each model as verifier, and none; 3. k;
 * 4. the decision grid (rule and threshold x verification policy); 5. reliability weights on /
 * off; 6. a calibrated score (tune-calibration.ts).
 *
 * The runner is shared by every search of one `tune`: the budget, and which upstream settings a
 * search already ran (with a response cache, running them again on the same sentences is free).
 */
import { createMethod, overlapPolicy } from '../assemble/index.js';
import type { Config } from '../config/schema.js';
import type { NerDocument } from '../core/types.js';
import { callsPerChunk } from '../el4ner/pipeline.js';
import type { PipelineReport } from '../el4ner/report.js';
import type { ChunkTrace } from '../el4ner/state.js';
import { resolveStages } from '../el4ner/switches.js';
import type { CostLedger } from '../engines/cost.js';
import type { Engine } from '../engines/types.js';
import { bootstrapWinShare } from '../eval/bootstrap.js';
import type { Counts } from '../eval/prf.js';
import type { DemoSource } from '../retrieval/demo-source.js';
import { countDegraded, type ScoredDegraded } from '../run/degraded.js';
import type { Progress } from '../run/progress.js';
import type { CallBudget } from './budget.js';
import { measureExperts, reliabilityWeights } from './performance.js';
import { fitCalibratedScore, type Scored } from './tune-calibration.js';
import {
  applySettings,
  DEFAULT_K_VALUES,
  decisionRules,
  defaultBackbones,
  describe,
  POLICIES,
  plainVoteThresholds,
  settingsKey,
  softDecisionRules,
  type TuneSettings,
  upstreamKey,
} from './tune-settings.js';

export type TuneStep =
  | 'default'
  | 'plain-vote'
  | 'backbones'
  | 'verifier'
  | 'k'
  | 'decision'
  | 'soft-votes'
  | 'weights'
  | 'calibration';

export interface CandidateRecord {
  id: number;
  step: TuneStep;
  description: string;
  settings: TuneSettings;
  estimate: number;
  status: 'evaluated' | 'skipped' | 'incomplete';
  calls: number;
  /** Strict micro scores on the choosing part (calibration: cross-fitted, out of fold). */
  f1?: number;
  precision?: number;
  recall?: number;
  /** Requests refused by the budget guard during this candidate. */
  refused?: number;
  /**
   * Compared with the best candidate at the time (`against`, its id): the share of paired
   * bootstrap resamples of the choosing part in which this one scored higher.
   */
  winShare?: number;
  against?: number;
  note?: string;
}

/** Strict scores of settings on held-out sentences, with the counts to pool over folds. */
export interface HeldOutScore extends Counts {
  f1: number;
  precision: number;
  recall: number;
  calls: number;
}

export interface SearchOutcome {
  candidates: CandidateRecord[];
  /** The default config's record (first candidate). */
  first: CandidateRecord;
  /** The best candidate; null when the default could not be evaluated within the budget. */
  best: CandidateRecord | null;
  /** Where the coordinate steps started: the default, or the plain vote. */
  start: CandidateRecord | null;
  weightCalls: number;
  notes: string[];
}

/**
 * Progress of one run over `total` sentences (a candidate, a held-out score, a backbone measured
 * alone), ticked per sentence; `label` says which, e.g. `fold 1/2: candidate 3 (verifier)`.
 */
export type RunProgress = (label: string, total: number) => Promise<Progress>;

export interface RunnerOptions {
  config: Config;
  budget: CallBudget;
  /** The budget-guarded engines. */
  engines: ReadonlyMap<string, Engine>;
  ledger: CostLedger;
  cache: boolean;
  demos: DemoSource | readonly NerDocument[] | undefined;
  kValues?: readonly number[];
  confidence: number;
  seed: number;
  progress?: RunProgress;
}

export class TuneRunner {
  /** Upstream settings (backbones, k) some search ran, with the sentences it ran them on. */
  private readonly ran = new Map<string, Set<NerDocument>>();
  /** Whether demonstrations can be drawn (a demonstration source or a pool). */
  readonly hasDemos: boolean;
  /** Runs (candidates, held-out scores, backbones alone) whose sentences came out degraded. */
  readonly degraded: ScoredDegraded[] = [];

  constructor(private readonly o: RunnerOptions) {
    this.hasDemos = Boolean(o.demos) || Boolean(o.config.pool);
  }

  /**
   * Calls `s` costs on `docs`: per sentence the calls of the stages it runs (the stage modules
   * count them), plus one embedding call when an embedding model embeds the query spans; only
   * the verification calls when a cache holds the upstream answers for all of `docs` (and the
   * classification calls too after a run with the other kind of votes).
   */
  estimate(s: TuneSettings, docs: readonly NerDocument[]): number {
    const { config } = this.o;
    const switches = resolveStages(applySettings(config, s));
    const calls = callsPerChunk({
      switches,
      backbones: s.backbones,
      singleModel: switches.singleModel ?? s.backbones[0],
      k: s.k,
      demos: this.hasDemos ? { size: 1 } : undefined,
      verification: { policy: s.policy },
    });
    const ver = calls.verify ?? 0;
    const upstream =
      Object.values(calls).reduce((a, c) => a + c, 0) -
      ver +
      (config.embedding && s.k > 0 && this.hasDemos ? 1 : 0);
    const ranOn = (key: string) => {
      const seen = this.ran.get(key);
      return this.o.cache && seen !== undefined && docs.every((d) => seen.has(d));
    };
    if (ranOn(upstreamKey(s))) return docs.length * ver;
    // After a run with the other kind of votes only the classification calls are new (soft votes
    // ask for logprobs, hard ones do not).
    if (ranOn(upstreamKey({ ...s, votes: s.votes === 'soft' ? 'hard' : 'soft' })))
      return docs.length * ((calls.classify ?? 0) + ver);
    return docs.length * (upstream + ver);
  }

  /**
   * Runs the settings on `docs` through the pipeline (guarded engines); `error` when it could not
   * finish. `label` names the run in its progress.
   */
  async run(s: TuneSettings, docs: readonly NerDocument[], withTraces: boolean, label: string) {
    const { ledger, budget } = this.o;
    const before = ledger.summary().total.calls;
    budget.resetRefusals();
    let method: Awaited<ReturnType<typeof createMethod>> | undefined;
    let progress: Progress | undefined;
    try {
      method = await createMethod(applySettings(this.o.config, s), {
        engines: { engines: this.o.engines, ledger },
        demos: this.o.demos,
        log: () => {},
      });
      progress = await this.o.progress?.(label, docs.length);
      const each = progress ? { onDocument: () => progress?.tick() } : {};
      const out = withTraces
        ? await (async () => {
            const t = await method.tag(docs, each);
            const traces = t.traces as ChunkTrace[];
            return { traces, report: undefined, perDocument: undefined, ...countDegraded(t.docs) };
          })()
        : await (async () => {
            const r = await method.evaluate(docs, each);
            const { degraded, unanswered } = r;
            return {
              traces: undefined,
              report: r.details as PipelineReport,
              perDocument: r.perDocument,
              degraded,
              unanswered,
            };
          })();
      progress?.stop();
      if (out.degraded > 0) this.degraded.push({ what: label, documents: docs.length, ...out });
      if (budget.refused === 0) this.markRan(s, docs);
      return { ...out, calls: ledger.summary().total.calls - before, refused: budget.refused };
    } catch (e) {
      return {
        error: (e as Error).message,
        cause: e,
        calls: ledger.summary().total.calls - before,
        refused: budget.refused,
      };
    } finally {
      progress?.stop('stopped');
      await method?.close();
    }
  }

  private markRan(s: TuneSettings, docs: readonly NerDocument[]): void {
    const key = upstreamKey(s);
    const seen = this.ran.get(key) ?? new Set<NerDocument>();
    for (const d of docs) seen.add(d);
    this.ran.set(key, seen);
  }

  /** Strict scores of `s` on held-out `docs`; null when the budget does not allow it. */
  async measure(s: TuneSettings, docs: readonly NerDocument[], label: string): Promise<HeldOutScore | null> {
    if (this.estimate(s, docs) > this.o.budget.remaining) return null;
    const r = await this.run(s, docs, false, label);
    if ('error' in r || r.refused > 0) return null;
    const m = r.report!.final.micro;
    return { f1: m.f1, precision: m.p, recall: m.r, tp: m.tp, fp: m.fp, fn: m.fn, calls: r.calls };
  }

  /**
   * The search on `part`, from the default settings `base`; `where` prefixes the labels of its
   * runs' progress (e.g. `fold 1/2: `).
   */
  async search(
    base: TuneSettings,
    part: readonly NerDocument[],
    log: (m: string) => void,
    where = '',
  ): Promise<SearchOutcome> {
    return new Search(this, this.o, base, part, log, where).run();
  }
}

class Search {
  private readonly candidates: CandidateRecord[] = [];
  private readonly done = new Map<string, CandidateRecord>();
  private readonly reports = new Map<number, PipelineReport>();
  /** Strict counts per sentence of each evaluated candidate, for the bootstrap. */
  private readonly perDocument = new Map<number, Counts[]>();
  private readonly notes: string[] = [];
  private best: CandidateRecord | null = null;
  private weightCalls = 0;

  constructor(
    private readonly runner: TuneRunner,
    private readonly o: RunnerOptions,
    private readonly base: TuneSettings,
    private readonly part: readonly NerDocument[],
    private readonly log: (m: string) => void,
    private readonly where: string,
  ) {}

  /** The progress label of a candidate's run: its number in this search and its step. */
  private label(rec: CandidateRecord): string {
    return `${this.where}candidate ${rec.id + 1} (${rec.step})`;
  }

  async run(): Promise<SearchOutcome> {
    const first = await this.evaluate('default', this.base, `default: ${describe(this.base)}`);
    this.best = first.status === 'evaluated' ? first : null;
    let start = this.best;
    if (!this.best)
      this.notes.push('the default config could not be evaluated within the budget; nothing was changed');
    else {
      start = await this.plainVoteStart(first);
      await this.dropBackbones();
      await this.verifiers();
      await this.ks();
      await this.decisions();
      await this.softVotes();
      await this.weights();
      const calibrated = await this.calibrate(this.best!.settings);
      this.keepIfBetter(calibrated);
    }
    return {
      candidates: this.candidates,
      first,
      best: this.best,
      start,
      weightCalls: this.weightCalls,
      notes: this.notes,
    };
  }

  private async evaluate(
    step: TuneStep,
    s: TuneSettings,
    description = describe(s),
  ): Promise<CandidateRecord> {
    const key = settingsKey(s);
    const prev = this.done.get(key);
    if (prev) return prev;
    const rec = this.record(step, s, description);
    if (rec.status === 'skipped') return rec;
    const r = await this.runner.run(s, this.part, false, this.label(rec));
    rec.calls = r.calls;
    rec.refused = r.refused;
    if ('error' in r) {
      // the default failing for another reason than the budget (no model answering, a broken
      // cache) leaves nothing to compare with: that error is the command's
      if (step === 'default' && r.refused === 0) throw r.cause;
      rec.status = 'incomplete';
      rec.note = r.error;
      this.log(`${description}: not evaluated: ${r.error}`);
    } else {
      const report = r.report!;
      rec.f1 = report.final.micro.f1;
      rec.precision = report.final.micro.p;
      rec.recall = report.final.micro.r;
      rec.status = r.refused > 0 ? 'incomplete' : 'evaluated';
      if (rec.status === 'evaluated') {
        this.reports.set(rec.id, report);
        if (r.perDocument) this.perDocument.set(rec.id, r.perDocument);
      }
      const degraded = r.degraded > 0 ? `, ${r.degraded} of ${this.part.length} sentence(s) degraded` : '';
      this.log(
        `${description}: strict F1 ${(100 * rec.f1).toFixed(2)}, ${rec.calls} calls${degraded}${rec.status === 'incomplete' ? ' (incomplete: budget reached)' : ''}`,
      );
    }
    this.done.set(key, rec);
    return rec;
  }

  /** A new candidate record: 'skipped' when its estimate does not fit the budget left, else 'incomplete' until it has run. */
  private record(step: TuneStep, settings: TuneSettings, description: string): CandidateRecord {
    const rec: CandidateRecord = {
      id: this.candidates.length,
      step,
      description,
      settings,
      estimate: this.runner.estimate(settings, this.part),
      status: 'incomplete',
      calls: 0,
    };
    this.candidates.push(rec);
    const left = this.o.budget.remaining;
    if (rec.estimate > left) {
      rec.status = 'skipped';
      rec.note = `estimated ${rec.estimate} calls, ${left} left`;
      this.log(`skip ${description}: ${rec.note}`);
    }
    return rec;
  }

  /** `c` beats `than` by F1 and in at least `confidence` of paired bootstrap resamples. */
  private beats(c: CandidateRecord, than: CandidateRecord): boolean {
    if (c.status !== 'evaluated' || than.status !== 'evaluated' || !(c.f1! > than.f1!)) return false;
    const a = this.perDocument.get(c.id);
    const b = this.perDocument.get(than.id);
    if (!a || !b) return true;
    c.winShare = bootstrapWinShare(a, b, { seed: this.o.seed });
    c.against = than.id;
    return c.winShare >= this.o.confidence;
  }

  private keepIfBetter(c: CandidateRecord | undefined): void {
    if (c && this.best && this.beats(c, this.best)) this.best = c;
  }

  // 0. The plain vote of the same backbones (no verification): the default must beat it clearly.
  // It starts at the strict majority (`el4ner ensemble --strategy vote`); another "m of n" takes
  // its place only when it beats it clearly too.
  private async plainVoteStart(first: CandidateRecord): Promise<CandidateRecord> {
    const n = this.base.backbones.length;
    if (n < 2) return first;
    const votes: CandidateRecord[] = [];
    for (const d of plainVoteThresholds(n)) {
      const c = await this.evaluate('plain-vote', {
        ...this.base,
        ...d,
        votes: 'hard',
        verifier: null,
        weights: undefined,
        use: 'veto',
        calibration: undefined,
        minScore: 0,
      });
      if (c.status === 'evaluated') votes.push(c);
    }
    const byF1 = [...votes].sort((a, b) => b.f1! - a.f1!);
    const majorityAt = plainVoteThresholds(n)[Math.floor(n / 2)].threshold;
    let plain = votes.find((c) => c.settings.threshold === majorityAt) ?? byF1[0] ?? null;
    const rival = byF1.find((c) => c !== plain);
    if (plain && rival && this.beats(rival, plain)) plain = rival;
    if (!plain || this.beats(first, plain)) return first;
    this.best = plain;
    this.notes.push(
      `the search starts from the plain vote (${plain.description}): the default did not beat it in ${this.o.confidence} of bootstrap resamples`,
    );
    return plain;
  }

  // 1. Backbones: drop the one whose spans match gold worst, while that helps.
  private async dropBackbones(): Promise<void> {
    while (this.best!.settings.backbones.length > 1) {
      const best = this.best!;
      const report = this.reports.get(best.id)!;
      const spanF1 = (m: string) => {
        const x = report.extraction.perModel[m];
        if (!x) return -1;
        return x.spanPrecision + x.spanRecall
          ? (2 * x.spanPrecision * x.spanRecall) / (x.spanPrecision + x.spanRecall)
          : 0;
      };
      const worst = [...best.settings.backbones].sort((a, b) => spanF1(a) - spanF1(b))[0];
      const s: TuneSettings = {
        ...best.settings,
        backbones: best.settings.backbones.filter((b) => b !== worst),
      };
      if (s.weights) s.weights = Object.fromEntries(Object.entries(s.weights).filter(([m]) => m !== worst));
      const c = await this.evaluate('backbones', s, `drop ${worst}: ${describe(s)}`);
      if (!this.beats(c, best)) break;
      this.best = c;
    }
  }

  // 2. Verifier: each chat model, and none.
  private async verifiers(): Promise<void> {
    const from = this.best!.settings;
    for (const v of [...defaultBackbones({ ...this.o.config, backbones: undefined }), null]) {
      if (v === from.verifier) continue;
      this.keepIfBetter(await this.evaluate('verifier', { ...from, verifier: v }));
    }
  }

  // 3. k (number of demonstrations), when there is a pool to draw them from.
  private async ks(): Promise<void> {
    const { config } = this.o;
    const retrievalMode = config.retrieval.mode ?? config.stages.retrieval;
    if (!this.runner.hasDemos || retrievalMode === 'none') {
      this.notes.push('k not tuned: no demonstration pool or retrieval none');
      return;
    }
    const from = this.best!.settings;
    for (const k of this.o.kValues ?? DEFAULT_K_VALUES) {
      if (k === from.k) continue;
      this.keepIfBetter(await this.evaluate('k', { ...from, k }));
    }
  }

  // 4. The decision with hard votes: voting rule and threshold x verification policy (no new upstream calls).
  private async decisions(): Promise<void> {
    const from = this.best!.settings;
    const verifier = from.verifier ?? this.o.config.verifier ?? from.backbones[0];
    for (const d of decisionRules(from.backbones.length))
      for (const p of POLICIES) {
        const s: TuneSettings = {
          ...from,
          ...d,
          votes: 'hard',
          verifier: p ? verifier : null,
          ...(p ?? {}),
          use: 'veto',
          calibration: undefined,
          minScore: 0,
        };
        this.keepIfBetter(await this.evaluate('decision', s));
      }
  }

  // 4b. Soft votes: each classifier's vote spread by the probabilities it gave the types (token
  // logprobs; one new classification call per backbone and sentence), over their own threshold
  // grid, then the verification policies for the best of them. Skipped when no logprobs come back.
  private async softVotes(): Promise<void> {
    const from = { ...this.best!.settings, use: 'veto' as const, calibration: undefined, minScore: 0 };
    const first = softDecisionRules()[0];
    const probe = await this.evaluate('soft-votes', { ...from, ...first, votes: 'soft' });
    if (probe.status !== 'evaluated') return;
    if (!this.reports.get(probe.id)?.grounding.softVotes) {
      this.notes.push('soft votes not tried: the classifiers returned no token logprobs');
      return;
    }
    let best = probe;
    for (const d of softDecisionRules().slice(1)) {
      const c = await this.evaluate('soft-votes', { ...from, ...d, votes: 'soft' });
      if (c.status === 'evaluated' && c.f1! > best.f1!) best = c;
    }
    const verifier = from.verifier ?? this.o.config.verifier ?? from.backbones[0];
    for (const p of POLICIES) {
      const c = await this.evaluate('soft-votes', {
        ...best.settings,
        verifier: p ? verifier : null,
        ...(p ?? {}),
      });
      if (c.status === 'evaluated' && c.f1! > best.f1!) best = c;
    }
    this.keepIfBetter(best);
  }

  // 5. Weights: reliability measured per backbone alone, then weighted vote on / off.
  private async weights(): Promise<void> {
    const from = this.best!.settings;
    if (from.backbones.length < 2) return;
    if (from.weights) this.keepIfBetter(await this.evaluate('weights', { ...from, weights: undefined }));
    const { config, budget, ledger } = this.o;
    const retrievalMode = config.retrieval.mode ?? config.stages.retrieval;
    const pre = retrievalMode === 'span-level' && from.k > 0 && this.runner.hasDemos ? 1 : 0;
    const need =
      from.backbones.length * this.part.length * (pre + 2) +
      this.runner.estimate({ ...from, weights: {} }, this.part);
    if (need > budget.remaining) {
      this.notes.push(`weights not measured: about ${need} calls needed, ${budget.remaining} left`);
      return;
    }
    const before = ledger.summary().total.calls;
    budget.resetRefusals();
    const perf = await measureExperts({
      config: applySettings(config, from),
      voters: from.backbones,
      labelled: this.part,
      engines: this.o.engines,
      ledger,
      demos: this.o.demos,
      ...(this.o.progress
        ? {
            progress: (voter: string, total: number) =>
              this.o.progress!(`${this.where}weights: ${voter} alone`, total),
          }
        : {}),
    });
    this.weightCalls += ledger.summary().total.calls - before;
    for (const p of perf)
      if (p.degraded > 0)
        this.runner.degraded.push({
          what: `${this.where}weights: ${p.voter} alone`,
          documents: this.part.length,
          degraded: p.degraded,
          unanswered: 0,
        });
    if (budget.refused > 0) this.notes.push('weights not used: the budget ran out while measuring them');
    else this.keepIfBetter(await this.evaluate('weights', { ...from, weights: reliabilityWeights(perf) }));
  }

  // 6. A calibrated score over every candidate span (entity-then-type > 0), the verdict as a feature.
  private async calibrate(from: TuneSettings): Promise<CandidateRecord | undefined> {
    const s: TuneSettings = {
      ...from,
      rule: 'entity-then-type',
      threshold: 0,
      use: from.verifier ? 'feature' : 'veto',
      calibration: undefined,
      minScore: 0,
    };
    const rec = this.record('calibration', s, `calibrated score on ${describe(s)}`);
    if (rec.status === 'skipped') return rec;
    const r = await this.runner.run(s, this.part, true, this.label(rec));
    rec.calls = r.calls;
    rec.refused = r.refused;
    if ('error' in r || r.refused > 0) {
      rec.status = 'incomplete';
      rec.note = 'error' in r ? r.error : 'budget reached';
      return rec;
    }
    const byDoc: Scored[][] = this.part.map(() => []);
    for (const t of r.traces!) byDoc[t.doc].push(...t.candidates);
    const fit = fitCalibratedScore(
      this.part,
      byDoc,
      await overlapPolicy(this.o.config, this.o.demos as DemoSource | undefined),
      s.backbones,
    );
    rec.settings = { ...s, calibration: fit.weights, minScore: fit.minScore };
    rec.description = `calibrated >= ${fit.minScore} (${fit.examples} candidates, 2-fold out-of-fold F1): ${describe(s)}`;
    rec.f1 = fit.f1;
    rec.precision = fit.p;
    rec.recall = fit.r;
    rec.status = 'evaluated';
    this.perDocument.set(rec.id, fit.perDocument);
    this.log(`${rec.description}: strict F1 ${(100 * fit.f1).toFixed(2)}, ${rec.calls} calls`);
    return rec;
  }
}

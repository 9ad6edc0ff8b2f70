/**
 * Entity-level fusion of the SLM with the LLM (Xu, Dang, Huang 2025): keep the SLM's answer
 * unless, where the two disagree, the SLM is less confident than the LLM.
 *
 * - S_S = 1 - H(m) / ln K, with m the SLM marginal of a token over its K labels and H the
 *   entropy in nats; dividing by ln K (the entropy of the uniform distribution) puts S_S in
 *   [0, 1] whatever the label count: 1 for a one-hot marginal, 0 for a uniform one.
 * - S_L = lambda * e^P, with P the LLM's probability for what it says there, so S_L is in
 *   [lambda, lambda * e]. The LLM wins a disagreement when S_S < S_L.
 *
 * Disagreements are decided per conflict, not per token, so no entity either side proposed
 * whole is ever cut. A conflict is a maximal group of SLM and LLM entities linked by shared
 * tokens; one that is not the same spans with the same types on both sides is decided as a
 * whole, for one side's entities:
 * - `type`: the same extent, another type. P is the configured probability (category by default).
 * - `boundary`: the extents differ (same type or not), e.g. SLM `王` against LLM `怀王`, or two
 *   SLM entities `Seoul-` `Incheon` against one LLM entity. P is the boundary probability.
 * - `llmOnly`: an LLM entity over tokens the SLM left outside. P is the configured probability.
 * - `slmOnly`: an SLM entity the LLM left outside. P is the LLM's probability of not opening
 *   an entity on any of its tokens (the product over them of `llmOutside`, read from the
 *   top logprobs: see probabilities.ts); without it the SLM entity stays. These removals are
 *   our addition to the paper and have their own lambda (`lambdaOutside`, the same as lambda
 *   unless given): tied to lambda, a lambda large enough to take the LLM's entities would also
 *   remove every SLM entity the LLM missed (S_L = lambda e^P is never below lambda).
 * S_S of a conflict is the mean S_S over its disputed tokens, those whose BIO tags differ.
 * A conflict whose P is unknown (no logprobs, markup not found) always keeps the SLM's side.
 */
import { spansFromTags, type TokenSpan, tagsFromSpans } from '../core/tags.js';
import type { Entity, TagScheme, Token } from '../core/types.js';
import type { ProbabilityKind } from './probabilities.js';

/** 1 - normalised entropy of a distribution (natural log, divided by ln of its size). */
export function slmConfidence(marginal: ArrayLike<number>): number {
  const k = marginal.length;
  if (k <= 1) return 1;
  let h = 0;
  for (let i = 0; i < k; i++) {
    const q = marginal[i];
    if (q > 0) h -= q * Math.log(q);
  }
  return Math.min(1, Math.max(0, 1 - h / Math.log(k)));
}

export function llmScore(lambda: number, probability: number): number {
  return lambda * Math.exp(probability);
}

export interface LlmTokenEntity {
  tokenStart: number;
  tokenEnd: number;
  type: string;
  probability: Partial<Record<ProbabilityKind, number>>;
}

/** Everything fusion needs for one document, so each lambda costs no model call. */
export interface FusionCase {
  tokens: Token[];
  slmTags: string[];
  /** S_S per token. */
  slmConfidence: number[];
  /** The SLM marginal probability of its own tag per token, for entity scores. */
  slmTagProbability?: number[];
  /** The LLM's entities; undefined when there is no LLM answer (fusion = SLM alone). */
  llm?: LlmTokenEntity[];
  /**
   * Per token: the LLM's probability of not opening an entity at that token, when its answer
   * shows it (undefined for tokens its answer does not cover, or without logprobs).
   */
  llmOutside?: (number | undefined)[];
}

export type Decider = 'agree' | 'slm' | 'llm';

export interface DecisionCounts {
  /** Tokens where both give the same BIO tag. */
  agree: number;
  /** Disputed tokens the SLM decided. */
  slm: number;
  /** Disputed tokens the LLM decided. */
  llm: number;
}

export type DecisionKind = 'type' | 'boundary' | 'llmOnly' | 'slmOnly';
export const DECISION_KINDS: readonly DecisionKind[] = ['type', 'boundary', 'llmOnly', 'slmOnly'];

/** Conflicts of each kind, by the side that won them. */
export type DecisionKindCounts = Record<DecisionKind, { slm: number; llm: number }>;

export interface FusionDecision {
  kind: DecisionKind;
  /** The conflict's token range. */
  start: number;
  end: number;
  slm: TokenSpan[];
  llm: LlmTokenEntity[];
  /** Token indices whose BIO tags differ between the sides. */
  disputed: number[];
  /** Mean S_S over the disputed tokens. */
  slmConfidence: number;
  /** The LLM probability that decides; undefined when the LLM cannot win. */
  probability?: number;
  /** The LLM wins when lambda is strictly above this (S_S / e^P); undefined when it never can. */
  threshold?: number;
}

/** The conflicts of a case for one probability kind; lambda only picks a winner per conflict. */
export interface FusionPlan {
  n: number;
  /** Entities both sides give identically. */
  agreed: TokenSpan[];
  decisions: FusionDecision[];
  /** SLM entities when there is no LLM answer at all. */
  slmAlone: TokenSpan[];
}

export type SpanSide = 'both' | 'slm' | 'llm';

export interface FusedSpan extends TokenSpan {
  side: SpanSide;
  /** The SLM's mean marginal of its tags, or the LLM's probability, when known. */
  score?: number;
}

export interface FuseResult {
  tags: string[];
  spans: FusedSpan[];
  decidedBy: Decider[];
  counts: DecisionCounts;
  decisions: DecisionKindCounts;
}

export function zeroDecisions(): DecisionCounts {
  return { agree: 0, slm: 0, llm: 0 };
}

export function zeroKindCounts(): DecisionKindCounts {
  return {
    type: { slm: 0, llm: 0 },
    boundary: { slm: 0, llm: 0 },
    llmOnly: { slm: 0, llm: 0 },
    slmOnly: { slm: 0, llm: 0 },
  };
}

export function addKindCounts(into: DecisionKindCounts, from: DecisionKindCounts): void {
  for (const k of DECISION_KINDS) {
    into[k].slm += from[k].slm;
    into[k].llm += from[k].llm;
  }
}

/** The threshold above which lambda lets the LLM win, or undefined when it never can. */
export function overrideThreshold(slmConf: number, probability: number | undefined): number | undefined {
  return probability === undefined ? undefined : slmConf / Math.exp(probability);
}

function bioOf(n: number, spans: readonly TokenSpan[]): string[] {
  return tagsFromSpans(n, spans, 'BIO');
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Mean of the entities' probabilities of one kind; undefined when any is unknown. */
function entitiesProbability(es: readonly LlmTokenEntity[], kind: ProbabilityKind): number | undefined {
  let sum = 0;
  for (const e of es) {
    const p = e.probability[kind];
    if (p === undefined) return undefined;
    sum += p;
  }
  return sum / es.length;
}

/** Product of the LLM's "no entity opens here" probabilities over a span; undefined when one is unknown. */
function outsideProbability(c: FusionCase, s: TokenSpan): number | undefined {
  if (!c.llmOutside) return undefined;
  let p = 1;
  for (let i = s.start; i < s.end; i++) {
    const q = c.llmOutside[i];
    if (q === undefined) return undefined;
    p *= q;
  }
  return p;
}

function sameSpans(a: readonly TokenSpan[], b: readonly LlmTokenEntity[], withType: boolean): boolean {
  if (a.length !== b.length) return false;
  return a.every(
    (s, i) => s.start === b[i].tokenStart && s.end === b[i].tokenEnd && (!withType || s.type === b[i].type),
  );
}

/** Groups the two sides' entities into conflicts and prices each (no lambda involved). */
export function planFusion(c: FusionCase, kind: ProbabilityKind): FusionPlan {
  const n = c.tokens.length;
  const slmSpans = spansFromTags(c.slmTags).filter((s) => s.end <= n);
  if (!c.llm) return { n, agreed: [], decisions: [], slmAlone: slmSpans };
  const llm = c.llm
    .filter((e) => e.tokenStart < e.tokenEnd && e.tokenEnd <= n)
    .sort((a, b) => a.tokenStart - b.tokenStart);
  const slmBio = bioOf(n, slmSpans);
  const llmBio = bioOf(
    n,
    llm.map((e) => ({ start: e.tokenStart, end: e.tokenEnd, type: e.type })),
  );

  const agreed: TokenSpan[] = [];
  const decisions: FusionDecision[] = [];
  let i = 0;
  let j = 0;
  while (i < slmSpans.length || j < llm.length) {
    // Start a conflict at the earliest entity and grow it while the next one on either side overlaps.
    const group: { slm: TokenSpan[]; llm: LlmTokenEntity[]; start: number; end: number } = {
      slm: [],
      llm: [],
      start: Number.POSITIVE_INFINITY,
      end: -1,
    };
    const takeSlm = () => {
      const s = slmSpans[i++];
      group.slm.push(s);
      group.start = Math.min(group.start, s.start);
      group.end = Math.max(group.end, s.end);
    };
    const takeLlm = () => {
      const e = llm[j++];
      group.llm.push(e);
      group.start = Math.min(group.start, e.tokenStart);
      group.end = Math.max(group.end, e.tokenEnd);
    };
    if (j >= llm.length || (i < slmSpans.length && slmSpans[i].start <= llm[j].tokenStart)) takeSlm();
    else takeLlm();
    for (;;) {
      if (i < slmSpans.length && slmSpans[i].start < group.end) takeSlm();
      else if (j < llm.length && llm[j].tokenStart < group.end) takeLlm();
      else break;
    }
    if (sameSpans(group.slm, group.llm, true)) {
      agreed.push(...group.slm);
      continue;
    }
    const disputed: number[] = [];
    for (let t = group.start; t < group.end; t++) if (slmBio[t] !== llmBio[t]) disputed.push(t);
    let decisionKind: DecisionKind;
    let probability: number | undefined;
    if (group.llm.length === 0) {
      decisionKind = 'slmOnly';
      probability = outsideProbability(c, group.slm[0]);
    } else if (group.slm.length === 0) {
      decisionKind = 'llmOnly';
      probability = entitiesProbability(group.llm, kind);
    } else if (sameSpans(group.slm, group.llm, false)) {
      decisionKind = 'type';
      probability = entitiesProbability(group.llm, kind);
    } else {
      decisionKind = 'boundary';
      probability = entitiesProbability(group.llm, 'boundary');
    }
    const conf = mean(disputed.map((t) => c.slmConfidence[t]));
    decisions.push({
      kind: decisionKind,
      start: group.start,
      end: group.end,
      slm: group.slm,
      llm: group.llm,
      disputed,
      slmConfidence: conf,
      probability,
      threshold: overrideThreshold(conf, probability),
    });
  }
  return { n, agreed, decisions, slmAlone: [] };
}

function slmSpanScore(c: FusionCase, s: TokenSpan): number | undefined {
  if (!c.slmTagProbability) return undefined;
  let sum = 0;
  for (let t = s.start; t < s.end; t++) sum += c.slmTagProbability[t];
  return sum / (s.end - s.start);
}

/**
 * Picks a winner for every conflict of the plan at this lambda (and `lambdaOutside` for the
 * SLM-only entities) and writes the tags in `scheme`.
 */
export function applyPlan(
  plan: FusionPlan,
  c: FusionCase,
  lambda: number,
  kind: ProbabilityKind,
  scheme: TagScheme,
  lambdaOutside = lambda,
): FuseResult {
  const { n } = plan;
  const decidedBy = new Array<Decider>(n).fill('agree');
  const counts = zeroDecisions();
  const decisions = zeroKindCounts();
  const spans: FusedSpan[] = [];
  for (const s of plan.slmAlone) {
    spans.push({ ...s, side: 'slm', score: slmSpanScore(c, s) });
    for (let t = s.start; t < s.end; t++) decidedBy[t] = 'slm';
  }
  for (const s of plan.agreed) spans.push({ ...s, side: 'both', score: slmSpanScore(c, s) });
  for (const d of plan.decisions) {
    const l = d.kind === 'slmOnly' ? lambdaOutside : lambda;
    const llmWins = d.threshold !== undefined && l > d.threshold;
    decisions[d.kind][llmWins ? 'llm' : 'slm']++;
    for (const t of d.disputed) decidedBy[t] = llmWins ? 'llm' : 'slm';
    if (llmWins) {
      for (const e of d.llm) {
        spans.push({
          start: e.tokenStart,
          end: e.tokenEnd,
          type: e.type,
          side: 'llm',
          score: e.probability[kind] ?? d.probability,
        });
      }
    } else {
      for (const s of d.slm) spans.push({ ...s, side: 'slm', score: slmSpanScore(c, s) });
    }
  }
  spans.sort((a, b) => a.start - b.start);
  for (const by of decidedBy) counts[by]++;
  return { tags: tagsFromSpans(n, spans, scheme), spans, decidedBy, counts, decisions };
}

export function fuseCase(
  c: FusionCase,
  lambda: number,
  kind: ProbabilityKind,
  scheme: TagScheme,
  lambdaOutside = lambda,
): FuseResult {
  return applyPlan(planFusion(c, kind), c, lambda, kind, scheme, lambdaOutside);
}

/** Character-offset entities for token spans. */
export function entitiesFromSpans(
  text: string,
  tokens: readonly Token[],
  spans: readonly TokenSpan[],
): Entity[] {
  return spans.map((s) => {
    const start = tokens[s.start].start;
    const end = tokens[s.end - 1].end;
    return { start, end, type: s.type, text: text.slice(start, end) };
  });
}

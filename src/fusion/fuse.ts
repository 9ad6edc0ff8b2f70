/**
 * Token-level fusion of the SLM with the LLM (Xu, Dang, Huang 2025): keep the SLM's answer
 * unless, on a token where the two disagree, the SLM is less confident than the LLM.
 *
 * - S_S = 1 - H(m) / ln K, with m the SLM marginal of the token over its K labels and H the
 *   entropy in nats; dividing by ln K (the entropy of the uniform distribution) puts S_S in
 *   [0, 1] whatever the label count: 1 for a one-hot marginal, 0 for a uniform one.
 * - S_L = lambda * e^P, with P the LLM's probability (category, boundary or mean) of the entity
 *   covering the token, so S_L is in [lambda, lambda * e].
 * - Labels compare without their B/I/E/S prefix. Where they agree, the SLM's tag stands.
 *   Where they differ and the LLM marked the token (it lies inside one of its entities) with a
 *   known P, the LLM's label wins when S_S < S_L. A token the LLM left outside every entity
 *   keeps the SLM's tag: the LLM's answer gives no probability for 'O', so it only adds or
 *   retypes entities, never deletes them.
 *
 * Repair: the SLM's tags are first rewritten in BIO (so every scheme behaves the same); an
 * LLM-decided token gets B-X on the first token of its LLM entity and I-X after. The mixed
 * sequence is read with `spansFromTags` (I-X continues an open span of type X, and starts a new
 * span after O or another type), and the spans are written back in the SLM's scheme, so the
 * output is always a valid tag sequence. So an LLM token right after an SLM span of the same
 * type extends it, and one inside an SLM span of another type splits it.
 */
import { spansFromTags, type TokenSpan, tagsFromSpans } from '../core/tags.js';
import type { Entity, TagScheme, Token } from '../core/types.js';
import type { ProbabilityKind } from './probabilities.js';
import { tagType } from './slm.js';

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
}

export type Decider = 'agree' | 'slm' | 'llm';

export interface DecisionCounts {
  /** Tokens where both give the same label (prefixes ignored). */
  agree: number;
  /** Disagreeing tokens the SLM decided. */
  slm: number;
  /** Disagreeing tokens the LLM decided. */
  llm: number;
}

export interface FuseResult {
  tags: string[];
  spans: TokenSpan[];
  decidedBy: Decider[];
  /** Per token: the probability behind the chosen label (SLM marginal, or the LLM's P), when known. */
  tokenScore: (number | undefined)[];
  counts: DecisionCounts;
}

export function zeroDecisions(): DecisionCounts {
  return { agree: 0, slm: 0, llm: 0 };
}

/** The threshold above which lambda lets the LLM decide a token, or undefined when it never can. */
export function overrideThreshold(slmConf: number, probability: number | undefined): number | undefined {
  return probability === undefined ? undefined : slmConf / Math.exp(probability);
}

export function fuseCase(
  c: FusionCase,
  lambda: number,
  kind: ProbabilityKind,
  scheme: TagScheme,
): FuseResult {
  const n = c.tokens.length;
  const llmType = new Array<string>(n).fill('O');
  const llmBegins = new Array<boolean>(n).fill(false);
  const llmP = new Array<number | undefined>(n).fill(undefined);
  for (const e of c.llm ?? []) {
    for (let i = e.tokenStart; i < e.tokenEnd && i < n; i++) {
      llmType[i] = e.type;
      llmBegins[i] = i === e.tokenStart;
      llmP[i] = e.probability[kind];
    }
  }
  const slmBio = tagsFromSpans(n, spansFromTags(c.slmTags), 'BIO');
  const mixed: string[] = [];
  const decidedBy: Decider[] = [];
  const tokenScore: (number | undefined)[] = [];
  const counts = zeroDecisions();
  for (let i = 0; i < n; i++) {
    const slmTag = slmBio[i];
    const sType = tagType(slmTag);
    const lType = llmType[i];
    if (sType === lType) {
      mixed.push(slmTag);
      decidedBy.push('agree');
      tokenScore.push(c.slmTagProbability?.[i]);
      counts.agree++;
      continue;
    }
    const p = llmP[i];
    if (lType !== 'O' && p !== undefined && c.slmConfidence[i] < llmScore(lambda, p)) {
      mixed.push(`${llmBegins[i] ? 'B' : 'I'}-${lType}`);
      decidedBy.push('llm');
      tokenScore.push(p);
      counts.llm++;
    } else {
      mixed.push(slmTag);
      decidedBy.push('slm');
      tokenScore.push(c.slmTagProbability?.[i]);
      counts.slm++;
    }
  }
  const spans = spansFromTags(mixed);
  return { tags: tagsFromSpans(n, spans, scheme), spans, decidedBy, tokenScore, counts };
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

/**
 * What the EL4NER stages share: the state of one chunk (each stage adds its part) and the parts
 * of one configured pipeline (built by src/assemble, never read from files here).
 */
import type { TypeMapper } from '../answers/labels.js';
import type { DocumentContext } from '../core/context.js';
import type { DocumentWarning } from '../core/failures.js';
import type { Entity, NerDocument, Span } from '../core/types.js';
import type { CostLedger } from '../engines/cost.js';
import type { Engine } from '../engines/types.js';
import type { DemoSource } from '../retrieval/demo-source.js';
import { type ModelText, modelText } from './model-text.js';
import type { ResolvedStages } from './switches.js';
import type { CalibrationModel, Features } from './voting/calibration.js';
import type { Vote } from './voting/decide.js';
import type { OverlapPolicy } from './voting/overlaps.js';
import type { VoteKind, VotingRule, WeightFn } from './voting/rules.js';
import type { UnionSpan } from './voting/union.js';

/** A supervised tagger voting as one more backbone (config `fusion.voter`), e.g. the CRF. */
export interface SlmVoter {
  readonly name: string;
  /** Whether `predict` reads a document's context (the CRF's document features). */
  readonly readsContext?: boolean;
  predict(doc: {
    id: string;
    text: string;
    context?: DocumentContext;
  }): { entities: readonly Entity[] } | Promise<{ entities: readonly Entity[] }>;
  /**
   * For soft votes: per character span of `doc.text`, the probability the tagger gives each of its
   * own types for exactly that span (a span it cannot tag as one entity gets none). Without it the
   * voter votes hard.
   */
  spanProbabilities?(
    doc: { id: string; text: string; context?: DocumentContext },
    spans: readonly { start: number; end: number }[],
  ): Promise<Array<Record<string, number>>>;
}

export interface El4nerParts {
  engines: ReadonlyMap<string, Engine>;
  /** The ledger the engines record into (cost tables). */
  ledger: CostLedger;
  labels: string[];
  typeOf: TypeMapper;
  descriptions?: Readonly<Record<string, string>>;
  backbones: string[];
  verifier: string;
  singleModel: string;
  switches: ResolvedStages;
  /** Demonstrations per chunk. */
  k: number;
  demos?: DemoSource;
  slm?: SlmVoter;
  rule: VotingRule;
  /** soft: classifiers are asked for token logprobs and their votes carry probabilities. */
  votes: VoteKind;
  weight: WeightFn;
  verification: VerificationSettings;
  scoring: ScoringSettings;
  overlaps: OverlapPolicy;
  maxChars: number;
  /** Each model's configured maxTokens: a prompt sized from its items asks for more, never for less. */
  maxTokens?: ReadonlyMap<string, number>;
  concurrency: number;
  log: (message: string) => void;
  /** Tags a document no LLM answered for (the tagger of `fusion.slm`); without it such a document fails. */
  fallback?: {
    tag(doc: NerDocument, signal?: AbortSignal): Promise<NerDocument>;
    description: string;
    readsContext?: boolean;
  };
  /** Closes what the assembler built for this pipeline (engines, cache). */
  release?: () => Promise<void>;
}

/** Which decided entities the verifier sees, and what its answer does (config `verification`). */
export interface VerificationSettings {
  /** all: every entity (the paper); selective: those whose vote margin is below `margin`; off. */
  policy: 'all' | 'selective' | 'off';
  margin: number;
  /** veto: a 'no' removes the entity (the paper); feature: the verdict only moves its score. */
  use: 'veto' | 'feature';
}

/** The final score of an entity and the run-time cut (config `decision.calibration`, `decision.minScore`). */
export interface ScoringSettings {
  /** Fitted on dev by `el4ner tune`; without it the score is the voting rule's. */
  calibration?: CalibrationModel;
  /** Entities scoring below this are dropped (`--threshold`). */
  minScore: number;
}

/** What decides which stages run and how many calls they make (tune estimates from it without engines). */
export type StagePlan = Pick<El4nerParts, 'switches' | 'backbones' | 'singleModel' | 'k'> & {
  demos?: { readonly size: number };
  slm?: unknown;
  verification?: Pick<VerificationSettings, 'policy'>;
};

/** Who runs, for the report. */
export interface PipelineInfo {
  labels: string[];
  backbones: string[];
  verifier: string;
  singleModel: string;
  zeroShot: boolean;
  poolSize: number;
}

/** What happened in one chunk, in document offsets; used by the report. */
export interface ChunkTrace {
  doc: number;
  start: number;
  end: number;
  preSpans: Span[];
  demos: string[];
  perModel: Record<string, Span[]>;
  union: Span[];
  voted: Entity[];
  /** The candidates the score stage saw (after a vetoing verifier), with their features. */
  candidates: Array<Entity & { features: Features }>;
  final: Entity[];
  hallucinated: number;
  ambiguous: number;
  invalidTypes: number;
  missingAnswers: number;
  softVotes: number;
}

export interface ChunkCounts {
  /** Mentions that match nothing in the text. */
  hallucinated: number;
  /** Mentions whose occurrence had to be guessed. */
  ambiguous: number;
  /** Types that map to no label. */
  invalidTypes: number;
  /** Spans a classifier answered nothing for. */
  missingAnswers: number;
  /** Classifier votes cast with probabilities (`decision.votes: soft` and an answer with logprobs). */
  softVotes: number;
}

export interface ChunkState {
  readonly doc: number;
  /** The document's context, for the SLM voter (src/core/context.ts). */
  readonly context?: DocumentContext;
  /** Offset of the chunk in its document. */
  readonly start: number;
  /** The chunk as the models see it (unspaced CJK); every offset of the state indexes it. */
  readonly text: string;
  /** The chunk as given, and the offset maps between the two. */
  readonly view: ModelText;
  /** Query spans from zero-shot pre-extraction (span-level retrieval), chunk offsets. */
  preSpans: Span[];
  demos: NerDocument[];
  /** The SLM voter's types by span key `start:end`, when it takes part and answered. */
  slm?: Map<string, string>;
  /** Spans each extractor proposed (joint mode: typed spans, types dropped). */
  perModel: Record<string, Span[]>;
  /** The union of the proposed spans, with who proposed each. */
  union: UnionSpan[];
  /** Votes per span key. */
  votes: Map<string, Vote[]>;
  /** Voters asked to type the union (the SLM included), for abstention rules. */
  voters: string[];
  /** Entities after the decision, before verification. */
  voted: Entity[];
  /** The decided entities with their evidence, as verification and scoring go on. */
  candidates: Candidate[];
  final: Entity[];
  counts: ChunkCounts;
  /** LLM extractors whose answer was usable (no answer at all means the document is unanswered). */
  answered: Set<string>;
  /** Models that answered a call of this chunk with nothing usable, even after the re-ask. */
  unusable: Set<string>;
  /** Each backbone's zero-shot spans from retrieval, when its answer was usable. */
  zeroShot: Map<string, Span[]>;
  warnings: DocumentWarning[];
}

/** A decided entity with the evidence that scores it. */
export interface Candidate {
  entity: Entity;
  votes: readonly Vote[];
  /** The voting rule's margin (src/el4ner/voting/rules.ts). */
  margin: number;
  /** The verifier's answer: true yes, false no, undefined not asked or no answer. */
  verdict?: boolean;
  features?: Features;
}

/** A fresh state for a chunk of `source` text starting at `start` in its document. */
export function newChunkState(
  doc: number,
  start: number,
  source: string,
  context?: DocumentContext,
): ChunkState {
  const view = modelText(source);
  return {
    doc,
    ...(context ? { context } : {}),
    start,
    text: view.text,
    view,
    preSpans: [],
    demos: [],
    perModel: {},
    union: [],
    votes: new Map(),
    voters: [],
    voted: [],
    candidates: [],
    final: [],
    counts: { hallucinated: 0, ambiguous: 0, invalidTypes: 0, missingAnswers: 0, softVotes: 0 },
    answered: new Set(),
    unusable: new Set(),
    zeroShot: new Map(),
    warnings: [],
  };
}

export const spanKey = (s: { start: number; end: number }) => `${s.start}:${s.end}`;

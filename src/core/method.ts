/**
 * The one contract every NER method fulfils (EL4NER, SLM+LLM fusion, the supervised tagger
 * alone). Surfaces (CLI, server, queue workers, library, tune/select) get a Method from
 * `createMethod(config)` (src/assemble) and use nothing else of it.
 */
import type { CostSummary } from '../engines/cost.js';
import { attachDocumentContext } from './context.js';
import { isDegraded, type ModelFailure } from './failures.js';
import type { NerDocument } from './types.js';

export type MethodKind = 'el4ner' | 'fusion' | 'slm';

/** Plain strings (ids 1, 2, ...) or documents (their `id`, `text` and `tokens` are used). */
export type MethodInput = string | readonly string[] | readonly NerDocument[];

export interface TagOptions {
  /** Called once per finished document, in input order, as soon as every earlier one is done. */
  onDocument?: (doc: NerDocument, index: number) => void | Promise<void>;
  /** Stops new model calls; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * A document no model answered for (and no fallback tagged): 'error' (default) rejects with a
   * NoAnswerError naming the causes; 'row' outputs it with no entities, its `error` and
   * `degraded: true`, and goes on (long runs: `el4ner run`).
   */
  unanswered?: 'error' | 'row';
}

export interface TagResult {
  docs: NerDocument[];
  /** Method-specific traces (EL4NER: one per chunk), for reports. */
  traces: readonly unknown[];
  failures: ModelFailure[];
  seconds: number;
}

export interface MethodInfo {
  kind: MethodKind;
  labels: string[];
  /** LLMs the method calls (empty for the tagger alone). */
  models: string[];
  /** One line for the log: what runs. */
  description: string;
}

/** Scores of a method on gold documents, with its own details (per-stage or fusion report). */
export interface MethodReport {
  kind: MethodKind;
  documents: number;
  /** Strict micro P/R/F1 of the final output. */
  micro: { p: number; r: number; f1: number; tp: number; fp: number; fn: number };
  /**
   * Strict counts per gold document, in order, for paired comparisons (tune's bootstrap); set by
   * EL4NER and the tagger alone.
   */
  perDocument?: Array<{ tp: number; fp: number; fn: number }>;
  /**
   * Scored documents whose output was degraded (what `el4ner run` marks `degraded`: a model's
   * answer lost, the CRF fallback used), and of those, the ones no model answered for.
   */
  degraded: number;
  unanswered: number;
  /**
   * Fusion with lambda 'auto': the dev documents lambda was chosen on, and those it saw degraded
   * (the LLM failed there, the SLM stood alone): then the choice itself is degraded.
   */
  tuning?: { documents: number; degraded: number; unanswered: number };
  /** The method's own report (JSON-serialisable). */
  details: unknown;
  /** A plain-text rendering for the terminal. */
  text: string;
}

export interface EvaluateOptions {
  /** Only the first N gold documents. */
  limit?: number;
  /** Labelled documents a method may tune on first (fusion: lambda 'auto'). */
  dev?: readonly NerDocument[];
  /** As in `tag`: called once per finished document (EL4NER; for progress). */
  onDocument?: TagOptions['onDocument'];
  /** As in `tag` (EL4NER): 'row' scores a document no model answered for as one with no entities. */
  unanswered?: TagOptions['unanswered'];
}

export interface Method {
  readonly info: MethodInfo;
  tag(input: MethodInput, options?: TagOptions): Promise<TagResult>;
  /** `tag`, returning the documents only. */
  extract(input: MethodInput, options?: TagOptions): Promise<NerDocument[]>;
  evaluate(gold: readonly NerDocument[], options?: EvaluateOptions): Promise<MethodReport>;
  /** Calls, tokens and time per stage and model so far. */
  cost(): CostSummary;
  /** The table of model calls, each line ending in a newline; '' for a method that calls no model. */
  formatCost(): string;
  close(): Promise<void>;
}

/** Input documents as the methods see them: id, text, tokens, meta and context only (gold never leaks in). */
export function inputDocuments(input: MethodInput, opts: { context?: boolean } = {}): NerDocument[] {
  if (typeof input === 'string') input = [input];
  const docs: NerDocument[] = input.map((x, i) =>
    typeof x === 'string'
      ? { id: String(i + 1), text: x, entities: [] }
      : {
          id: x.id,
          text: x.text,
          entities: [],
          ...(x.tokens ? { tokens: x.tokens } : {}),
          ...(x.meta ? { meta: x.meta } : {}),
          ...(x.context ? { context: x.context } : {}),
        },
  );
  // A document read from a file came with its context (src/core/context.ts); one that did not gets
  // it from this list, when the method's tagger reads it.
  return opts.context ? attachDocumentContext(docs) : docs;
}

/**
 * The output row of a document: its id, text, meta and the entities found (never gold tags),
 * with its warnings, `degraded: true` when they say something was lost, and the `error` of a
 * document no model answered for.
 */
export function outputDocument(
  input: NerDocument,
  entities: NerDocument['entities'],
  extra: { meta?: Record<string, unknown>; warnings?: NerDocument['warnings']; error?: string } = {},
): NerDocument {
  const meta = input.meta || extra.meta ? { ...(input.meta ?? {}), ...(extra.meta ?? {}) } : undefined;
  return {
    id: input.id,
    text: input.text,
    entities,
    ...(meta ? { meta } : {}),
    ...(extra.warnings?.length ? { warnings: extra.warnings } : {}),
    ...(isDegraded(extra.warnings) || extra.error ? { degraded: true } : {}),
    ...(extra.error ? { error: extra.error } : {}),
  };
}

/**
 * The core data model. Character offsets are JavaScript string indices (UTF-16 code units),
 * end exclusive: `text.slice(start, end) === entity.text` always holds. They are the single
 * source of truth; tokens and tags are derived from them.
 */
import type { DocumentContext } from './context.js';
import type { DocumentWarning } from './failures.js';

/** How one model voted on an entity (span extraction, typing or verification). */
export interface SourceVote {
  model: string;
  /** The stage that produced the vote: 'extract', 'classify', 'verify', 'slm', 'ensemble', ... */
  stage: string;
  /** The type this model gave, 'none' for a rejection, or undefined for span-only votes. */
  type?: string;
  /** Model confidence in [0, 1] when known. */
  score?: number;
}

export interface Entity {
  start: number;
  end: number;
  type: string;
  text: string;
  /** Confidence in [0, 1] when known. */
  score?: number;
  /** Which models proposed / voted for the entity. */
  sources?: SourceVote[];
}

export interface Token {
  text: string;
  start: number;
  end: number;
}

export interface NerDocument {
  id: string;
  text: string;
  entities: Entity[];
  /** Tokens with offsets, when the source gives them (CoNLL, the shared JSONL). */
  tokens?: Token[];
  /** Per-token tags exactly as the source gives them, when it does. */
  tags?: string[];
  /** Free-form extra fields kept through a round trip. */
  meta?: Record<string, unknown>;
  /**
   * What the documents around this one (in input order) show of its words, for the CRF's
   * document features (src/core/context.ts). Input only: never written out.
   */
  context?: DocumentContext;
  /** How a method's output for this document was degraded or repaired (absent when clean). */
  warnings?: DocumentWarning[];
  /**
   * True when something was lost on the way (a vote, a verification, a stage, every model's
   * answer): see `warnings`. `el4ner run --retry-degraded` runs such rows again.
   */
  degraded?: boolean;
  /** Why no model answered for this document (then `entities` is empty and `degraded` true). */
  error?: string;
}

/** A span without a type, as produced by the extraction stage. */
export interface Span {
  start: number;
  end: number;
  text: string;
}

export type TagScheme = 'BIO' | 'IOB1' | 'BIOES' | 'BMES';

export const NONE_TYPE = 'none';

export function entityKey(e: { start: number; end: number; type?: string }): string {
  return e.type === undefined ? `${e.start}:${e.end}` : `${e.start}:${e.end}:${e.type}`;
}

export function compareEntities(a: Entity, b: Entity): number {
  return a.start - b.start || a.end - b.end || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0);
}

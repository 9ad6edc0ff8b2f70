import { InputError } from '../core/errors.js';
import { spansFromTags, type TokenSpan } from '../core/tags.js';
import { tokenize } from '../core/tokenize.js';
import type { Entity, NerDocument, Token } from '../core/types.js';

/** Entities (character offsets) read from a tag sequence over tokens with offsets. */
export function entitiesFromTags(text: string, tokens: readonly Token[], tags: readonly string[]): Entity[] {
  return spansFromTags(tags).map((s) => {
    const start = tokens[s.start].start;
    const end = tokens[s.end - 1].end;
    return { start, end, type: s.type, text: text.slice(start, end) };
  });
}

/** The first pair of entities that overlap (nested or crossing), if any. */
export function findOverlap(entities: readonly Entity[]): [Entity, Entity] | null {
  const sorted = [...entities].sort((a, b) => a.start - b.start || a.end - b.end);
  // Sorted by start, so an overlap with any earlier entity shows with the furthest-reaching one.
  let reach = sorted[0];
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].start < reach.end) return [reach, sorted[i]];
    if (sorted[i].end > reach.end) reach = sorted[i];
  }
  return null;
}

function describe(e: Entity): string {
  return `${e.type} ${JSON.stringify(e.text)} [${e.start}, ${e.end})`;
}

/** Throws, naming the document, when its entities overlap (CoNLL and tags cannot hold them). */
export function assertFlat(doc: NerDocument, format: string): void {
  const pair = findOverlap(doc.entities);
  if (pair) {
    throw new InputError(
      `document ${JSON.stringify(doc.id)} has nested or overlapping entities (${describe(pair[0])} and ${describe(pair[1])}); ` +
        `${format} holds one tag per token, so they cannot be written (use jsonl, spacy or brat)`,
    );
  }
}

/**
 * Tokens for writing tags: the document's own tokens when it has them, else `tokenize(text)`
 * with tokens split further at every entity boundary so that each entity covers whole tokens.
 */
export function tokensForTagging(doc: NerDocument): Token[] {
  if (doc.tokens && doc.tokens.length > 0) return doc.tokens;
  const cuts = new Set<number>();
  for (const e of doc.entities) {
    cuts.add(e.start);
    cuts.add(e.end);
  }
  const out: Token[] = [];
  for (const t of tokenize(doc.text)) {
    let s = t.start;
    for (let k = t.start + 1; k < t.end; k++) {
      if (cuts.has(k)) {
        out.push({ text: doc.text.slice(s, k), start: s, end: k });
        s = k;
      }
    }
    out.push({ text: doc.text.slice(s, t.end), start: s, end: t.end });
  }
  // An entity over whitespace only would have no token; it is caught by the alignment check.
  return out;
}

/** Maps entities to token spans; throws naming the document when an entity does not cover whole tokens. */
export function tokenSpansOf(doc: NerDocument, tokens: readonly Token[]): TokenSpan[] {
  const byStart = new Map<number, number>();
  const byEnd = new Map<number, number>();
  tokens.forEach((t, i) => {
    byStart.set(t.start, i);
    byEnd.set(t.end, i);
  });
  return doc.entities.map((e) => {
    const s = byStart.get(e.start);
    const last = byEnd.get(e.end);
    if (s === undefined || last === undefined || last < s) {
      throw new InputError(
        `document ${JSON.stringify(doc.id)}: entity ${describe(e)} does not start and end at token boundaries`,
      );
    }
    return { start: s, end: last + 1, type: e.type };
  });
}

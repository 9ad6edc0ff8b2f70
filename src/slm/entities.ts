/**
 * Entities of a supervised tagger's output, shared by the CRF and the ONNX token classifier:
 * spans of the tags with character offsets from the tokens; an entity's score is the mean
 * marginal probability of its tokens' tags. A document is tagged line by line (`lineRanges`):
 * the taggers learnt from sentences, and no entity crosses a line break.
 */
import { spansFromTags } from '../core/tags.js';
import type { Entity, Token } from '../core/types.js';
import type { TokenRange } from './span-probabilities.js';

const LINE_BREAK = /[\n\r\u0085\u2028\u2029]/;

/** The token ranges of the lines of `text`: a line break between two tokens starts a new range. */
export function lineRanges(text: string, tokens: readonly Token[]): TokenRange[] {
  const out: TokenRange[] = [];
  let start = 0;
  for (let i = 1; i < tokens.length; i++) {
    if (LINE_BREAK.test(text.slice(tokens[i - 1].end, tokens[i].start))) {
      out.push({ start, end: i });
      start = i;
    }
  }
  if (tokens.length > 0) out.push({ start, end: tokens.length });
  return out;
}

export function entitiesFromTagging(
  text: string,
  tokens: readonly Token[],
  tagging: { tags: readonly string[]; marginals: readonly Float64Array[] },
  labels: readonly string[],
  model: string,
): Entity[] {
  const { tags, marginals } = tagging;
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  const entities: Entity[] = [];
  for (const sp of spansFromTags(tags)) {
    let sum = 0;
    for (let t = sp.start; t < sp.end; t++) sum += marginals[t][labelIndex.get(tags[t]) as number];
    const score = sum / (sp.end - sp.start);
    const start = tokens[sp.start].start;
    const end = tokens[sp.end - 1].end;
    entities.push({
      start,
      end,
      type: sp.type,
      text: text.slice(start, end),
      score,
      sources: [{ model, stage: 'slm', type: sp.type, score }],
    });
  }
  return entities;
}

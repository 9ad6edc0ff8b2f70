/**
 * Entities of a supervised tagger's output, shared by the CRF and the ONNX token classifier:
 * spans of the tags with character offsets from the tokens; an entity's score is the mean
 * marginal probability of its tokens' tags. A document is tagged line by line
 * (src/core/lines.ts): the taggers learnt from sentences, and no entity crosses a line break.
 */
import { spansFromTags } from '../core/tags.js';
import type { Entity, Token } from '../core/types.js';

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

/**
 * The tagger of `fusion.slm` as an EL4NER voter (`fusion.voter`): its entities join the union and
 * its votes the classification. With soft votes its vote for a union span is spread by the
 * probability it gives that exact span each type; the span's ends must fall on the tagger's own
 * tokens (the project tokenizer, as `predict` reads the text), else it cannot be that entity.
 */
import { documentTokens } from '../core/tokenize.js';
import type { SlmVoter } from '../el4ner/state.js';
import type { Slm } from '../slm/load.js';
import type { TokenRange } from '../slm/span-probabilities.js';

export function slmVoter(tagger: Slm): SlmVoter {
  return {
    name: tagger.name,
    readsContext: tagger.readsContext,
    predict: (doc) => tagger.predict(doc),
    async spanProbabilities(doc, spans) {
      const tokens = documentTokens({ text: doc.text });
      const startAt = new Map(tokens.map((t, i) => [t.start, i]));
      const endAt = new Map(tokens.map((t, i) => [t.end, i + 1]));
      const ranges: Array<TokenRange | undefined> = spans.map((s) => {
        const start = startAt.get(s.start);
        const end = endAt.get(s.end);
        return start !== undefined && end !== undefined && end > start ? { start, end } : undefined;
      });
      const asked = ranges.filter((r): r is TokenRange => r !== undefined);
      const probs = asked.length
        ? await tagger.spanProbabilities(
            tokens.map((t) => t.text),
            asked,
            doc.context,
          )
        : [];
      let next = 0;
      return ranges.map((r) => (r ? probs[next++] : {}));
    },
  };
}

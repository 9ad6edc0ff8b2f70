/**
 * The tagger of `fusion.slm` as an EL4NER voter (`fusion.voter`): its entities join the union and
 * its votes the classification. With soft votes its vote for a union span is spread by the
 * probability it gives that exact span each type. The tagger reads the text as `predict` does:
 * the project tokenizer, one line at a time (src/core/lines.ts). A span whose ends are not on
 * its tokens, or that crosses a line break, cannot be one of its entities.
 */

import { lineRanges } from '../core/lines.js';
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
      const lines = lineRanges(doc.text, tokens);
      const lineOf = new Int32Array(tokens.length);
      for (const [i, l] of lines.entries()) lineOf.fill(i, l.start, l.end);
      const startAt = new Map(tokens.map((t, i) => [t.start, i]));
      const endAt = new Map(tokens.map((t, i) => [t.end, i + 1]));
      // The spans asked of each line, in line-relative token indices.
      const asked = new Map<number, Array<{ span: number; range: TokenRange }>>();
      spans.forEach((s, span) => {
        const start = startAt.get(s.start);
        const end = endAt.get(s.end);
        if (start === undefined || end === undefined || end <= start) return;
        const line = lineOf[start];
        if (lineOf[end - 1] !== line) return;
        const offset = lines[line].start;
        const list = asked.get(line) ?? [];
        list.push({ span, range: { start: start - offset, end: end - offset } });
        asked.set(line, list);
      });
      const out: Array<Record<string, number>> = spans.map(() => ({}));
      for (const [line, list] of asked) {
        const { start, end } = lines[line];
        const probs = await tagger.spanProbabilities(
          tokens.slice(start, end).map((t) => t.text),
          list.map((a) => a.range),
          doc.context,
        );
        list.forEach((a, i) => {
          out[a.span] = probs[i];
        });
      }
      return out;
    },
  };
}

/**
 * A document read line by line, as the supervised taggers read it: they learnt from sentences,
 * so each line is its own sequence and no entity crosses a line break.
 */
import { splitTag } from './tags.js';
import type { Token } from './types.js';

/** A range of token indices, `end` exclusive. */
export interface LineRange {
  start: number;
  end: number;
}

const LINE_BREAK = /[\n\r\u0085\u2028\u2029]/;

/** The token ranges of the lines of `text`: a line break between two tokens starts a new range. */
export function lineRanges(text: string, tokens: readonly Token[]): LineRange[] {
  const out: LineRange[] = [];
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

/** A tagger's answer for one sequence: a tag and a distribution over its labels per token. */
interface Tagging {
  tags: string[];
  marginals: Float64Array[];
}

/**
 * A tagger's tags and marginals over a document's tokens, read the way `predict` reads them:
 * each line its own sequence. `lines` are the token ranges of the lines.
 */
export async function tagLines(
  tag: (words: string[]) => Tagging | Promise<Tagging>,
  text: string,
  tokens: readonly Token[],
): Promise<Tagging & { lines: LineRange[] }> {
  const tags: string[] = [];
  const marginals: Float64Array[] = [];
  const lines = lineRanges(text, tokens);
  for (const { start, end } of lines) {
    const t = await tag(tokens.slice(start, end).map((k) => k.text));
    for (let i = 0; i < end - start; i++) {
      tags.push(t.tags[i]);
      marginals.push(t.marginals[i]);
    }
  }
  return { tags, marginals, lines };
}

/**
 * `tags` with the first tag of each line made to open its entity (`I-X`, `M-X` -> `B-X`; `E-X`
 * -> `S-X`), so that tags joined from separately tagged lines read no entity across a line break.
 * That is how `predict` reads a line that begins inside an entity.
 */
export function openEachLine(tags: readonly string[], lines: readonly LineRange[]): string[] {
  const out = [...tags];
  for (const { start, end } of lines) {
    if (end <= start) continue;
    const [prefix, type] = splitTag(out[start], start);
    if (prefix === 'I' || prefix === 'M') out[start] = `B-${type}`;
    else if (prefix === 'E') out[start] = `S-${type}`;
  }
  return out;
}

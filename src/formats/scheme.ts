import { detectScheme, splitTag } from '../core/tags.js';
import type { NerDocument, TagScheme } from '../core/types.js';

/**
 * The scheme of the documents' own tags: BMES / BIOES by their prefixes (`detectScheme`), IOB1
 * when an `I-X` opens a span (no B before it) and no span ever starts with `B-` except right
 * after another span of the same type; BIO otherwise, and when no document has tags.
 */
export function detectSchemeOf(docs: readonly NerDocument[]): TagScheme {
  const all: string[] = [];
  for (const d of docs) if (d.tags) for (const t of d.tags) all.push(t);
  if (all.length === 0) return 'BIO';
  const base = detectScheme(all);
  if (base !== 'BIO') return base;
  let iStarts = 0;
  let bAfterOther = 0;
  for (const d of docs) {
    if (!d.tags) continue;
    let prevType = '';
    for (let i = 0; i < d.tags.length; i++) {
      let prefix: string;
      let type: string;
      try {
        [prefix, type] = splitTag(d.tags[i], i);
      } catch {
        return 'BIO';
      }
      if (prefix === 'I' && prevType !== type) iStarts++;
      if (prefix === 'B' && prevType !== type) bAfterOther++;
      prevType = prefix === 'O' ? '' : type;
    }
  }
  return iStarts > 0 && bAfterOther === 0 ? 'IOB1' : 'BIO';
}

/**
 * Rebuilds character offsets for tokens that a tokenizer returns without them (wink-nlp).
 * Tokens come in text order; each is searched from the running cursor. wink splits
 * contractions ("can't" -> "ca" + "n't") but keeps the surface characters, so an exact
 * match almost always exists; a case-insensitive match and finally a "take the next
 * non-space run" fallback keep the alignment monotone when it does not.
 */
const MAX_GAP = 64;

function isSpace(ch: string): boolean {
  return /\s/.test(ch);
}

export function alignTokens(text: string, tokens: readonly string[]): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const lower = text.toLowerCase();
  let cursor = 0;
  for (const tok of tokens) {
    while (cursor < text.length && isSpace(text[cursor])) cursor++;
    // Whitespace "tokens" (wink emits some for tabs) get an empty range; taggers drop those.
    if (tok.trim().length === 0 || cursor >= text.length) {
      out.push({ start: cursor, end: cursor });
      continue;
    }
    let start = -1;
    if (text.startsWith(tok, cursor)) start = cursor;
    else {
      const idx = text.indexOf(tok, cursor);
      if (idx >= 0 && idx - cursor <= MAX_GAP) start = idx;
      else {
        const li = lower.indexOf(tok.toLowerCase(), cursor);
        if (li >= 0 && li - cursor <= MAX_GAP && lower.length === text.length) start = li;
      }
    }
    if (start >= 0) {
      out.push({ start, end: start + tok.length });
      cursor = start + tok.length;
      continue;
    }
    // Fallback: the token is not found verbatim; give it the next non-space run, at most its length.
    let end = cursor;
    while (end < text.length && !isSpace(text[end]) && end - cursor < tok.length) end++;
    out.push({ start: cursor, end });
    cursor = end;
  }
  return out;
}

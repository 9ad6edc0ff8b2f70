/**
 * The JSON extraction of src/answers/json-text.ts before issue 18 (commit 917b170), kept only as
 * the baseline of bench/faults.ts: it rescans from every opening bracket (quadratic).
 */
/**
 * Rewrites near-JSON into JSON: single-quoted strings, trailing commas, True/False/None,
 * unquoted object keys, // and /* comments. Strings in double quotes are left as they are.
 */
export function repairJson(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"' || c === "'") {
      // copy a string, converting single-quoted ones to double quotes
      let j = i + 1;
      let s = '';
      while (j < n && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < n) {
          if (c === "'" && text[j + 1] === "'") s += "'";
          else s += text[j] + text[j + 1];
          j += 2;
          continue;
        }
        if (c === "'" && text[j] === '"') s += '\\"';
        else if (text[j] === '\n') s += '\\n';
        else s += text[j];
        j++;
      }
      out += `"${s}"`;
      i = j + 1;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === ',') {
      let j = i + 1;
      while (j < n && /\s/.test(text[j])) j++;
      if (text[j] === '}' || text[j] === ']') {
        i++;
        continue;
      }
    }
    if (/[A-Za-z_$]/.test(c)) {
      let j = i;
      while (j < n && /[\w$]/.test(text[j])) j++;
      const word = text.slice(i, j);
      let k = j;
      while (k < n && /\s/.test(text[k])) k++;
      if (text[k] === ':' && /[{,]\s*$/.test(out)) out += JSON.stringify(word);
      else if (word === 'True') out += 'true';
      else if (word === 'False') out += 'false';
      else if (word === 'None') out += 'null';
      else out += word;
      i = j;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** The first balanced {...} or [...] starting at `start`, aware of quoted strings. */
function balancedFrom(text: string, start: number): string | undefined {
  const stack: string[] = [];
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") {
      // an apostrophe inside prose-like JSON ("it's") must not open a string: only treat ' as a
      // quote right after a structural character
      if (c === "'" && !/[[{,:]\s*$/.test(text.slice(Math.max(start, i - 8), i))) continue;
      quote = c;
    } else if (c === '{' || c === '[') stack.push(c === '{' ? '}' : ']');
    else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return undefined;
      if (stack.length === 0) return text.slice(start, i + 1);
    }
  }
  return undefined;
}

function tryParse(s: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(s) };
  } catch {
    try {
      return { ok: true, value: JSON.parse(repairJson(s)) };
    } catch {
      return { ok: false };
    }
  }
}

/** Every JSON value found in the text, most likely first: the whole text, fenced blocks, embedded objects/arrays. */
export function extractJsonCandidates(text: string): unknown[] {
  const found: unknown[] = [];
  const seen = new Set<string>();
  const consider = (s: string) => {
    const t = s.trim();
    if (!t || seen.has(t)) return;
    seen.add(t);
    const r = tryParse(t);
    if (r.ok) found.push(r.value);
  };
  const trimmed = text.trim();
  if (/^[[{]/.test(trimmed)) consider(trimmed);
  for (const m of text.matchAll(/```[a-zA-Z0-9_-]*[ \t]*\r?\n?([\s\S]*?)```/g)) {
    const inner = m[1].trim();
    consider(inner);
    const start = inner.search(/[[{]/);
    if (start >= 0) {
      const b = balancedFrom(inner, start);
      if (b) consider(b);
    }
  }
  for (let i = 0; i < text.length && found.length < 8; i++) {
    if (text[i] !== '{' && text[i] !== '[') continue;
    const b = balancedFrom(text, i);
    if (b) {
      consider(b);
      if (found.length) {
        // skip past a parsed value so its inner objects are not offered separately
        const idx = text.indexOf(b, i);
        if (idx === i) i += b.length - 1;
      }
    }
  }
  return found;
}

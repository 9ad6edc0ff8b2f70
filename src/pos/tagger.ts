/**
 * English POS tagging with wink-nlp and its lite English model (Universal POS tags).
 * wink is loaded on first use only (the model takes ~100 ms and some memory to load).
 * wink gives token strings but no character offsets, so `alignTokens` rebuilds them.
 */
import { alignTokens } from './align.js';
import { cjkTokenPos, isCjkText } from './cjk.js';
import { asUpos, type PosToken } from './upos.js';

export interface PosTagger {
  tag(text: string): PosToken[];
}

let loading: Promise<PosTagger> | undefined;

async function loadWink(): Promise<PosTagger> {
  const [{ default: winkNLP }, { default: model }] = await Promise.all([
    import('wink-nlp'),
    import('wink-eng-lite-web-model'),
  ]);
  const nlp = winkNLP(model);
  const its = nlp.its;
  return {
    tag(text: string): PosToken[] {
      if (isCjkText(text)) return tagCjk(text);
      if (text.trim().length === 0) return [];
      const doc = nlp.readDoc(text);
      const values = doc.tokens().out(its.value) as string[];
      const tags = doc.tokens().out(its.pos) as string[];
      const offsets = alignTokens(text, values);
      const out: PosToken[] = [];
      for (let i = 0; i < values.length; i++) {
        const o = offsets[i];
        if (o.end > o.start) out.push({ start: o.start, end: o.end, pos: asUpos(tags[i]) });
      }
      return out;
    },
  };
}

/** The CJK path: whitespace tokens, heuristic tags (see cjk.ts). */
export function tagCjk(text: string): PosToken[] {
  const out: PosToken[] = [];
  for (const m of text.matchAll(/\S+/g)) {
    const start = m.index ?? 0;
    out.push({ start, end: start + m[0].length, pos: cjkTokenPos(m[0]) });
  }
  return out;
}

/** The shared tagger, loaded lazily once per process. */
export function loadPosTagger(): Promise<PosTagger> {
  loading ??= loadWink().catch((err) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

export async function posTag(text: string): Promise<PosToken[]> {
  return (await loadPosTagger()).tag(text);
}

/**
 * Chinese / Japanese / Korean text has no offline POS tagger here (wink is English only).
 * The shared data writes Chinese one character per token with spaces in between, so the
 * CJK path tags whitespace tokens with a small heuristic: personal pronouns -> PRON,
 * digits -> NUM, punctuation -> PUNCT, Latin words starting with a capital -> PROPN,
 * anything else -> NOUN. A span gets PRON when its characters (spaces removed) form a
 * pronoun, PROPN when the caller says it is an entity (`entity: true`), NOUN otherwise.
 * Because SpanSim divides by the total weight, giving every span the same POS is the same
 * as uniform weighting; only the pronoun distinction changes the ranking.
 */
import type { Upos } from './upos.js';

const CJK_RE = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/;

export function isCjkText(text: string): boolean {
  return CJK_RE.test(text);
}

const PRONOUNS = new Set([
  '我',
  '你',
  '您',
  '他',
  '她',
  '它',
  '我们',
  '你们',
  '他们',
  '她们',
  '它们',
  '咱们',
  '咱',
  '自己',
  '大家',
  '人家',
  '别人',
  '这',
  '那',
  '这个',
  '那个',
  '这些',
  '那些',
  '谁',
  '什么',
  '哪',
  '本人',
  '俺',
  '偶',
  '伦家',
  '朕',
  '其',
  '之',
  '彼',
]);

/** Removes the spaces the shared data puts between two CJK characters. */
export function compactCjk(s: string): string {
  return s.replace(/\s+/g, (m, off: number, all: string) => {
    const prev = all[off - 1] ?? '';
    const next = all[off + m.length] ?? '';
    return CJK_RE.test(prev) && CJK_RE.test(next) ? '' : ' ';
  });
}

export function cjkTokenPos(tok: string): Upos {
  if (PRONOUNS.has(tok)) return 'PRON';
  if (/^[0-9０-９.,%]+$/.test(tok)) return 'NUM';
  if (/^[\p{P}\p{S}]+$/u.test(tok)) return 'PUNCT';
  if (/^[A-Z][A-Za-z]*$/.test(tok)) return 'PROPN';
  return 'NOUN';
}

export function cjkSpanPos(spanText: string, opts: { entity?: boolean } = {}): Upos {
  const s = compactCjk(spanText).trim();
  if (PRONOUNS.has(s)) return 'PRON';
  if (opts.entity) return 'PROPN';
  if (/^[0-9０-９.,%]+$/.test(s)) return 'NUM';
  if (/^[A-Z][A-Za-z]*( [A-Z][A-Za-z]*)*$/.test(s)) return 'PROPN';
  return 'NOUN';
}

/**
 * NER feature extraction for the CRF: one list of string attributes per token.
 * Kept apart from the CRF, which only sees feature ids.
 */

import { type DocumentContext, isCapsHeadline } from '../core/context.js';
import { cjkWords } from './cjk-words.js';
import { clusterKey, WordClusters } from './clusters.js';
import { contextAttributes } from './context.js';
import type { Lexicon } from './lexicons.js';

export interface FeatureConfig {
  /** Neighbour words looked at on each side (lower case and short shape). */
  window: number;
  /** Longest prefix / suffix length. */
  affixes: number;
  gazetteer: boolean;
  /** Sentence-level all-caps headline flag. */
  sentenceCaps: boolean;
  /** Extra character features for CJK tokens (neighbour character bigrams). */
  cjk: boolean;
  /**
   * For single-character CJK tokens: the Chinese word each one sits in, by the jieba segmenter
   * (src/slm/cjk-words.ts): its place in the word, that place with the word's part of speech, the
   * word, and the place and part of speech of the neighbouring characters' words.
   */
  cjkWords: boolean;
  /** Lower-cased word bigrams previous|current and current|next. */
  bigrams: boolean;
  /** Word-cluster path prefixes (of every cluster set the model has), at these lengths. */
  clusterPrefixes: number[];
  /** The same for the neighbours at -clusterWindow..+clusterWindow, at these lengths. */
  clusterContextPrefixes: number[];
  clusterWindow: number;
  /** Short-shape trigram (-1, 0, +1) and shape conjoined with the neighbouring words. */
  shapeConjunctions: boolean;
  /** Lower-cased words anywhere in the `disjunctive` tokens to the left / right (0: off). */
  disjunctive: number;
  /**
   * Non-local features from the sentences within each of these many sentences before and after
   * (src/slm/context.ts); empty: off.
   */
  documentWindows: number[];
}

export const DEFAULT_FEATURES: FeatureConfig = {
  window: 2,
  affixes: 4,
  gazetteer: true,
  sentenceCaps: true,
  cjk: true,
  cjkWords: true,
  bigrams: true,
  clusterPrefixes: [4, 8, 12, 16],
  clusterContextPrefixes: [8, 16],
  clusterWindow: 1,
  shapeConjunctions: true,
  disjunctive: 0,
  documentWindows: [4, 12],
};

const CJK_CHAR = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]/u;
const PUNCT = /^[\p{P}\p{S}]+$/u;
const DIGITS = /^\p{N}+$/u;
const HAS_DIGIT = /\p{N}/u;
const UPPER = /\p{Lu}/u;
const LOWER = /\p{Ll}/u;

export function wordShape(w: string): string {
  let out = '';
  for (const ch of w) {
    if (UPPER.test(ch)) out += 'X';
    else if (LOWER.test(ch)) out += 'x';
    else if (HAS_DIGIT.test(ch)) out += 'd';
    else if (CJK_CHAR.test(ch)) out += 'C';
    else out += ch;
    if (out.length >= 12) break;
  }
  return out;
}

export function shortShape(w: string): string {
  const s = wordShape(w);
  let out = '';
  for (const ch of s) if (out[out.length - 1] !== ch) out += ch;
  return out;
}

function isAllCaps(w: string): boolean {
  return UPPER.test(w) && !LOWER.test(w);
}

/**
 * Known entity token sequences (exact case) from training data, matched longest-first.
 * Entries are token strings joined by a space.
 */
export class Gazetteer {
  private readonly entries = new Map<string, string[]>();
  private maxLen = 0;

  add(tokens: readonly string[], type: string): void {
    if (tokens.length === 0 || tokens.length > 8) return;
    const key = tokens.join(' ');
    const types = this.entries.get(key);
    if (!types) this.entries.set(key, [type]);
    else if (!types.includes(type)) types.push(type);
    if (tokens.length > this.maxLen) this.maxLen = tokens.length;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Per token, the gazetteer attributes (`B-T` / `I-T`) of a longest left-to-right match. */
  match(tokens: readonly string[]): string[][] {
    const out: string[][] = tokens.map(() => []);
    let i = 0;
    while (i < tokens.length) {
      let found = 0;
      let types: string[] | undefined;
      for (let len = Math.min(this.maxLen, tokens.length - i); len >= 1; len--) {
        const t = this.entries.get(len === 1 ? tokens[i] : tokens.slice(i, i + len).join(' '));
        if (t) {
          found = len;
          types = t;
          break;
        }
      }
      if (!types) {
        i++;
        continue;
      }
      for (let j = i; j < i + found; j++) {
        for (const type of types) out[j].push(`${j === i ? 'B' : 'I'}-${type}`);
      }
      i += found;
    }
    return out;
  }

  toJSON(): [string, string[]][] {
    return [...this.entries];
  }

  static fromJSON(entries: [string, string[]][]): Gazetteer {
    const g = new Gazetteer();
    for (const [key, types] of entries) for (const t of types) g.add(key.split(' '), t);
    return g;
  }
}

/** Attributes of every token of a sentence. */
export function sentenceFeatures(
  tokens: readonly string[],
  cfg: FeatureConfig,
  gaz?: Gazetteer,
  clusters: readonly WordClusters[] = [],
  context?: DocumentContext,
  lexicons: readonly Lexicon[] = [],
): string[][] {
  const n = tokens.length;
  const lower = tokens.map((t) => t.toLowerCase());
  const sshape = tokens.map(shortShape);
  const codes = clusters.map((c) => tokens.map((t) => c.code(clusterKey(t))));
  const capsHeadline = cfg.sentenceCaps && isCapsHeadline(tokens);
  const gazMatches = cfg.gazetteer && gaz ? gaz.match(tokens) : undefined;
  const lexMatches = lexicons.map((l) => l.match(tokens));
  const words =
    cfg.cjkWords && tokens.some((t) => t.length === 1 && CJK_CHAR.test(t)) ? cjkWords(tokens) : undefined;
  const out: string[][] = [];
  for (let i = 0; i < n; i++) {
    const w = tokens[i];
    const lw = lower[i];
    const f: string[] = ['b', `w=${w}`, `lw=${lw}`, `sh=${wordShape(w)}`, `ss=${sshape[i]}`];
    const chars = [...w];
    const cjk = chars.length === 1 && CJK_CHAR.test(w);
    if (chars.length > 1) {
      const maxA = Math.min(cfg.affixes, chars.length - 1);
      for (let k = 1; k <= maxA; k++) {
        f.push(`p${k}=${chars.slice(0, k).join('')}`);
        f.push(
          `s${k}=${chars
            .slice(chars.length - k)
            .join('')
            .toLowerCase()}`,
        );
      }
    }
    if (UPPER.test(chars[0] ?? '') && LOWER.test(w)) f.push('title');
    if (isAllCaps(w)) f.push('upper');
    if (DIGITS.test(w)) f.push('digit');
    else if (HAS_DIGIT.test(w)) f.push('hasdigit');
    if (PUNCT.test(w)) f.push('punct');
    if (w.includes('-') && chars.length > 1) f.push('hyphen');
    if (cjk) f.push('cjk');
    if (i === 0) f.push('first');
    if (i === n - 1) f.push('last');
    for (let o = 1; o <= cfg.window; o++) {
      f.push(i - o >= 0 ? `lw-${o}=${lower[i - o]}` : `lw-${o}=<s>`);
      f.push(i + o < n ? `lw+${o}=${lower[i + o]}` : `lw+${o}=</s>`);
      if (i - o >= 0) f.push(`ss-${o}=${sshape[i - o]}`);
      if (i + o < n) f.push(`ss+${o}=${sshape[i + o]}`);
    }
    if (cfg.bigrams) {
      f.push(`bg-=${i > 0 ? lower[i - 1] : '<s>'}|${lw}`);
      f.push(`bg+=${lw}|${i + 1 < n ? lower[i + 1] : '</s>'}`);
    }
    if (cfg.cjk && cjk) {
      // Character bigrams one step further out, and the character trigram centred on this one.
      if (i >= 2) f.push(`cb-2=${tokens[i - 2]}${tokens[i - 1]}`);
      if (i + 2 < n) f.push(`cb+2=${tokens[i + 1]}${tokens[i + 2]}`);
      if (i >= 1 && i + 1 < n) f.push(`ct=${tokens[i - 1]}${w}${tokens[i + 1]}`);
    }
    const word = cjk ? words?.[i] : undefined;
    if (word) {
      const prev = words?.[i - 1];
      const next = words?.[i + 1];
      f.push(
        `cw=${word.place}`,
        `cwt=${word.place}|${word.tag}`,
        `cww=${word.word}`,
        `cwt-1=${prev ? `${prev.place}|${prev.tag}` : '-'}`,
        `cwt+1=${next ? `${next.place}|${next.tag}` : '-'}`,
      );
    }
    if (cfg.shapeConjunctions) {
      f.push(`ss3=${i > 0 ? sshape[i - 1] : '<s>'}|${sshape[i]}|${i + 1 < n ? sshape[i + 1] : '</s>'}`);
      f.push(`ss|lw-1=${sshape[i]}|${i > 0 ? lower[i - 1] : '<s>'}`);
      f.push(`ss|lw+1=${sshape[i]}|${i + 1 < n ? lower[i + 1] : '</s>'}`);
    }
    for (let o = 1; o <= cfg.disjunctive; o++) {
      if (i - o >= 0) f.push(`dl=${lower[i - o]}`);
      if (i + o < n) f.push(`dr=${lower[i + o]}`);
    }
    for (let c = 0; c < codes.length; c++) {
      const cc = codes[c];
      const code = cc[i];
      if (code === undefined) f.push(`c${c}=none`);
      else for (const len of cfg.clusterPrefixes) f.push(`c${c}:${len}=${WordClusters.prefix(code, len)}`);
      for (let o = -cfg.clusterWindow; o <= cfg.clusterWindow; o++) {
        if (o === 0 || i + o < 0 || i + o >= n) continue;
        const oc = cc[i + o];
        if (oc === undefined) continue;
        for (const len of cfg.clusterContextPrefixes)
          f.push(`c${c}${o}:${len}=${WordClusters.prefix(oc, len)}`);
      }
    }
    if (capsHeadline) {
      f.push('caps-sent');
      f.push(`caps-sent|lw=${lw}`);
    }
    if (gazMatches) {
      for (const g of gazMatches[i]) f.push(`gz=${g}`);
      if (i > 0) for (const g of gazMatches[i - 1]) f.push(`gz-1=${g}`);
      if (i + 1 < n) for (const g of gazMatches[i + 1]) f.push(`gz+1=${g}`);
    }
    for (let k = 0; k < lexMatches.length; k++) {
      const m = lexMatches[k];
      for (const g of m[i]) f.push(`lx${k}=${g}`, `lx${k}|ss=${g}|${sshape[i]}`);
      if (i > 0) for (const g of m[i - 1]) f.push(`lx${k}-1=${g}`);
      if (i + 1 < n) for (const g of m[i + 1]) f.push(`lx${k}+1=${g}`);
    }
    if (context && cfg.documentWindows.length)
      contextAttributes(w, sshape[i], context, cfg.documentWindows, f);
    out.push(f);
  }
  return out;
}

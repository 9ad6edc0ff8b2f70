/**
 * Domain similarity between a target text sample and an expert's source domain (SaM criterion i).
 * - With an embedding model: cosine of the centroids (mean of `engine.embed` vectors) of both sides.
 * - Without one: 1 - Jensen-Shannon divergence (base 2, so in [0, 1]) between lexical distributions,
 *   each the even mixture of the lower-cased word unigram distribution and the character trigram
 *   distribution (words padded with spaces). Identical samples give 1, disjoint vocabularies 0.
 */
import type { Engine } from '../engines/types.js';

export type LexicalDistribution = Map<string, number>;

const WORD_RE = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;

function normalise(counts: Map<string, number>, weight: number, into: LexicalDistribution): void {
  let total = 0;
  for (const c of counts.values()) total += c;
  if (total === 0) return;
  for (const [k, c] of counts) into.set(k, (into.get(k) ?? 0) + (weight * c) / total);
}

/** The word-unigram + char-trigram mixture distribution of some texts. */
export function lexicalDistribution(texts: readonly string[]): LexicalDistribution {
  const words = new Map<string, number>();
  const grams = new Map<string, number>();
  for (const text of texts) {
    for (const w of text.toLowerCase().match(WORD_RE) ?? []) {
      words.set(`w:${w}`, (words.get(`w:${w}`) ?? 0) + 1);
      const p = ` ${w} `;
      const chars = [...p];
      for (let i = 0; i + 3 <= chars.length; i++) {
        const g = `c:${chars.slice(i, i + 3).join('')}`;
        grams.set(g, (grams.get(g) ?? 0) + 1);
      }
    }
  }
  const out: LexicalDistribution = new Map();
  normalise(words, 0.5, out);
  normalise(grams, 0.5, out);
  return out;
}

/** Jensen-Shannon divergence in bits (0 = same distribution, 1 = disjoint supports). */
export function jensenShannon(p: LexicalDistribution, q: LexicalDistribution): number {
  if (p.size === 0 || q.size === 0) return 1;
  let d = 0;
  const term = (a: number, m: number) => (a > 0 ? a * Math.log2(a / m) : 0);
  for (const [k, a] of p) {
    const b = q.get(k) ?? 0;
    const m = (a + b) / 2;
    d += 0.5 * term(a, m) + 0.5 * term(b, m);
  }
  for (const [k, b] of q) if (!p.has(k)) d += 0.5 * term(b, b / 2);
  return Math.min(1, Math.max(0, d));
}

export function lexicalSimilarity(a: readonly string[], b: readonly string[]): number {
  return 1 - jensenShannon(lexicalDistribution(a), lexicalDistribution(b));
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length)
    throw new Error(
      `embedding sizes differ (${a.length} vs ${b.length}): was the centroid made by another model?`,
    );
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Mean of the embeddings of `texts` (batches of 32). */
export async function embeddingCentroid(engine: Engine, texts: readonly string[]): Promise<number[]> {
  if (texts.length === 0) throw new Error('no texts to embed');
  let sum: number[] | undefined;
  for (let i = 0; i < texts.length; i += 32) {
    const { vectors } = await engine.embed(texts.slice(i, i + 32), { stage: 'select' });
    for (const v of vectors) {
      sum ??= new Array<number>(v.length).fill(0);
      for (let j = 0; j < v.length; j++) sum[j] += v[j];
    }
  }
  return sum!.map((x) => x / texts.length);
}

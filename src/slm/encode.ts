/** Turns per-token attribute strings into the CRF's feature id arrays. */
import { eventLoopTurns, type Turns } from '../core/turns.js';
import type { EncodedSentence } from './crf.js';
import type { FeatureIndex } from './feature-index.js';

/** Attribute dictionary with a count cutoff, built while encoding the training sentences. */
export class FeatureDictionaryBuilder {
  private readonly ids = new Map<string, number>();
  private counts = new Int32Array(1024);
  private readonly names: string[] = [];

  /** Encodes with provisional ids (every attribute gets one); call finish() afterwards. */
  encode(features: string[][], labels?: Int32Array): EncodedSentence {
    const n = features.length;
    const featStart = new Int32Array(n + 1);
    let total = 0;
    for (let t = 0; t < n; t++) total += features[t].length;
    const feats = new Int32Array(total);
    let k = 0;
    for (let t = 0; t < n; t++) {
      featStart[t] = k;
      for (const name of features[t]) {
        let id = this.ids.get(name);
        if (id === undefined) {
          id = this.names.length;
          this.ids.set(name, id);
          this.names.push(name);
          if (id >= this.counts.length) {
            const grown = new Int32Array(this.counts.length * 2);
            grown.set(this.counts);
            this.counts = grown;
          }
        }
        this.counts[id]++;
        feats[k++] = id;
      }
    }
    featStart[n] = k;
    return { n, featStart, feats, labels };
  }

  /**
   * Drops attributes seen fewer than minCount times, renumbers the rest densely, rewrites the
   * sentences in place (dropped attributes are removed) and returns the final name list.
   * Gives the event loop its turns (src/core/turns.ts).
   */
  async finish(
    sentences: EncodedSentence[],
    minCount: number,
    turn: Turns = eventLoopTurns(),
  ): Promise<string[]> {
    const remap = new Int32Array(this.names.length).fill(-1);
    const kept: string[] = [];
    for (let i = 0; i < this.names.length; i++) {
      if ((i & 1023) === 0) await turn();
      if (this.counts[i] >= minCount) {
        remap[i] = kept.length;
        kept.push(this.names[i]);
      }
    }
    for (const s of sentences) {
      await turn();
      let k = 0;
      const start = s.featStart;
      let from = 0;
      for (let t = 0; t < s.n; t++) {
        const end = start[t + 1];
        start[t] = k;
        for (let j = from; j < end; j++) {
          const id = remap[s.feats[j]];
          if (id >= 0) s.feats[k++] = id;
        }
        from = end;
      }
      start[s.n] = k;
      s.feats = s.feats.subarray(0, k);
    }
    return kept;
  }
}

/** Encodes with a fixed dictionary; unknown attributes are skipped. */
export function encodeWith(index: FeatureIndex, features: string[][]): EncodedSentence {
  const n = features.length;
  const featStart = new Int32Array(n + 1);
  let total = 0;
  for (let t = 0; t < n; t++) total += features[t].length;
  const feats = new Int32Array(total);
  let k = 0;
  for (let t = 0; t < n; t++) {
    featStart[t] = k;
    for (const name of features[t]) {
      const id = index.get(name);
      if (id >= 0) feats[k++] = id;
    }
  }
  featStart[n] = k;
  return { n, featStart, feats: feats.subarray(0, k) };
}

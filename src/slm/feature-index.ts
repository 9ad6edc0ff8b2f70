/**
 * Attribute name -> feature id without keeping the names: each name is reduced to a 64-bit hash
 * (two independent 32-bit string hashes) and looked up in an open-addressing table of ids.
 * A trained CoNLL-2003 model has ~400k attributes: the Map of their strings cost ~40 MB, this
 * costs 8 bytes per attribute plus 4 per table slot. Two attributes whose 64-bit hashes collide
 * (about 1 in 10^8 for a million names) would share one feature; `build` refuses that case.
 */

import { eventLoopTurns, type Turns } from '../core/turns.js';

const HASH = new Uint32Array(2);

/** Two 32-bit hashes of s's UTF-16 code units (FNV-1a and a murmur-style mix), in HASH[0], HASH[1]. */
function hash64(s: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  b = Math.imul(b ^ (b >>> 15), 0x85ebca6b);
  b ^= b >>> 13;
  HASH[0] = a;
  HASH[1] = b;
}

export class FeatureIndex {
  /** Per feature id, the two halves of its name's hash. */
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  private readonly table: Int32Array;
  private readonly mask: number;

  private constructor(hi: Uint32Array, lo: Uint32Array) {
    this.hi = hi;
    this.lo = lo;
    let cap = 16;
    while (cap < hi.length * 2) cap *= 2;
    this.table = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    for (let id = 0; id < hi.length; id++) {
      let slot = lo[id] & this.mask;
      for (;;) {
        const other = this.table[slot];
        if (other < 0) break;
        if (hi[other] === hi[id] && lo[other] === lo[id]) {
          throw new Error(`feature hash collision between feature ${other} and feature ${id}`);
        }
        slot = (slot + 1) & this.mask;
      }
      this.table[slot] = id;
    }
  }

  get size(): number {
    return this.hi.length;
  }

  /** The index of `names` (id = position), giving the event loop its turns (src/core/turns.ts). */
  static async build(names: readonly string[], turn: Turns = eventLoopTurns()): Promise<FeatureIndex> {
    const hi = new Uint32Array(names.length);
    const lo = new Uint32Array(names.length);
    for (let i = 0; i < names.length; i++) {
      if ((i & 1023) === 0) await turn();
      hash64(names[i]);
      hi[i] = HASH[0];
      lo[i] = HASH[1];
    }
    return new FeatureIndex(hi, lo);
  }

  static fromHashes(hi: Uint32Array, lo: Uint32Array): FeatureIndex {
    return new FeatureIndex(hi, lo);
  }

  /** The feature id of an attribute name, or -1. */
  get(name: string): number {
    hash64(name);
    const h0 = HASH[0];
    const h1 = HASH[1];
    let slot = h1 & this.mask;
    for (;;) {
      const id = this.table[slot];
      if (id < 0) return -1;
      if (this.lo[id] === h1 && this.hi[id] === h0) return id;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Bytes held by the index (hashes and table). */
  get bytes(): number {
    return this.hi.byteLength + this.lo.byteLength + this.table.byteLength;
  }
}

/**
 * Offset units. el4ner offsets are JavaScript string indices (UTF-16 code units); Python tools
 * (spaCy, brat, seqeval users) count code points. The two differ only after a character outside
 * the Basic Multilingual Plane (most emoji, some rare Han characters, math letters).
 */

export type OffsetUnit = 'utf16' | 'codepoint';

export class OffsetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OffsetError';
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Whether the text has any astral character, i.e. whether the two units differ at all. */
export function hasAstral(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (isHighSurrogate(text.charCodeAt(i))) return true;
  return false;
}

/** Converts offsets between units for one text; cheap when the text is all BMP. */
export class OffsetMap {
  /** codePointStart[k] = UTF-16 index of code point k; length = code points + 1. */
  private readonly cpToU16: number[] | null;
  private readonly u16ToCp: Int32Array | null;

  constructor(readonly text: string) {
    if (!hasAstral(text)) {
      this.cpToU16 = null;
      this.u16ToCp = null;
      return;
    }
    const cpToU16: number[] = [];
    const u16ToCp = new Int32Array(text.length + 1).fill(-1);
    let cp = 0;
    for (let i = 0; i < text.length; cp++) {
      cpToU16.push(i);
      u16ToCp[i] = cp;
      const code = text.charCodeAt(i);
      i += isHighSurrogate(code) && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1)) ? 2 : 1;
    }
    cpToU16.push(text.length);
    u16ToCp[text.length] = cp;
    this.cpToU16 = cpToU16;
    this.u16ToCp = u16ToCp;
  }

  get codePointLength(): number {
    return this.cpToU16 ? this.cpToU16.length - 1 : this.text.length;
  }

  /** UTF-16 index -> code point index; throws inside a surrogate pair or out of range. */
  toCodePoint(offset: number): number {
    if (!Number.isInteger(offset) || offset < 0 || offset > this.text.length) {
      throw new OffsetError(
        `offset ${offset} is outside the text (length ${this.text.length} UTF-16 code units)`,
      );
    }
    if (!this.u16ToCp) return offset;
    const cp = this.u16ToCp[offset];
    if (cp < 0) throw new OffsetError(`offset ${offset} falls inside a surrogate pair`);
    return cp;
  }

  /** Code point index -> UTF-16 index; throws out of range. */
  fromCodePoint(offset: number): number {
    if (!Number.isInteger(offset) || offset < 0 || offset > this.codePointLength) {
      throw new OffsetError(
        `offset ${offset} is outside the text (length ${this.codePointLength} code points)`,
      );
    }
    return this.cpToU16 ? this.cpToU16[offset] : offset;
  }

  convert(offset: number, from: OffsetUnit, to: OffsetUnit): number {
    if (from === to) return offset;
    return from === 'utf16' ? this.toCodePoint(offset) : this.fromCodePoint(offset);
  }
}

/** Returns copies of the spans with code point offsets (for Python tools). */
export function toCodePointOffsets<T extends { start: number; end: number }>(
  text: string,
  spans: readonly T[],
): T[] {
  const map = new OffsetMap(text);
  return spans.map((s) => ({ ...s, start: map.toCodePoint(s.start), end: map.toCodePoint(s.end) }));
}

/** Returns copies of the spans with UTF-16 offsets, from code point offsets. */
export function fromCodePointOffsets<T extends { start: number; end: number }>(
  text: string,
  spans: readonly T[],
): T[] {
  const map = new OffsetMap(text);
  return spans.map((s) => ({ ...s, start: map.fromCodePoint(s.start), end: map.fromCodePoint(s.end) }));
}

/** Universal POS tags (UD v2), plus the numeric codes used when they are stored in typed arrays. */
export const UPOS_TAGS = [
  'X',
  'ADJ',
  'ADP',
  'ADV',
  'AUX',
  'CCONJ',
  'DET',
  'INTJ',
  'NOUN',
  'NUM',
  'PART',
  'PRON',
  'PROPN',
  'PUNCT',
  'SCONJ',
  'SYM',
  'VERB',
] as const;

export type Upos = (typeof UPOS_TAGS)[number];

const CODE = new Map<string, number>(UPOS_TAGS.map((t, i) => [t, i]));

export function uposCode(tag: string): number {
  return CODE.get(tag) ?? 0;
}

export function uposFromCode(code: number): Upos {
  return UPOS_TAGS[code] ?? 'X';
}

export function asUpos(tag: string): Upos {
  return CODE.has(tag) ? (tag as Upos) : 'X';
}

/** One tagged token: `text.slice(start, end)` is the token as written in the input. */
export interface PosToken {
  start: number;
  end: number;
  pos: Upos;
}

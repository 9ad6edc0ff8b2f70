/**
 * Maps the type a model wrote to the label set, and says how: exact; the same label in another
 * case or with a tag prefix or punctuation (`b-per`, `PER.`); a synonym that points to exactly one
 * label (`Person` -> PER, `Location` -> LOC); a near match (one or two edits from exactly one
 * label of five or more letters: `organisaton`); a word meaning "not an entity" (`none`, `O`,
 * `not an entity`). Anything else is unknown: that item is dropped, the rest of the answer kept.
 */
import { NONE_TYPE } from '../core/types.js';

export type TypeMatch = 'exact' | 'case' | 'synonym' | 'near' | 'none-word';

export interface MappedType {
  /** A label, or 'none'. */
  type: string;
  how: TypeMatch;
}

export type TypeMapper = (raw: string) => MappedType | undefined;

const SYNONYMS: Record<string, string[]> = {
  PER: ['person', 'people', 'persons', 'per', 'human', 'name', 'individual', 'person name'],
  ORG: ['organization', 'organisation', 'org', 'company', 'institution', 'corporation', 'group', 'agency'],
  LOC: ['location', 'loc', 'place', 'country', 'city', 'gpe', 'region', 'geographic location'],
  GPE: ['geopolitical', 'geo-political entity', 'gpe', 'country', 'city', 'state'],
  MISC: ['miscellaneous', 'misc', 'other', 'others'],
  DATE: ['date', 'time', 'day'],
};

const NONE_WORDS = new Set([
  'none',
  'null',
  'o',
  'no',
  'n/a',
  'na',
  'nil',
  'not an entity',
  'no entity',
  'non-entity',
  'not entity',
  'not_entity',
  '',
]);

function normalise(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/^[bies]-/, '')
    .replace(/^["'`(<[]+|["'`)>\].,;:!?]+$/g, '')
    .replace(/[_\s]+/g, ' ')
    .trim();
}

/** Levenshtein distance, stopping early once it exceeds `max`. */
function withinEdits(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      rowMin = Math.min(rowMin, cur[j]);
    }
    if (rowMin > max) return false;
    prev = cur;
  }
  return prev[b.length] <= max;
}

export function createTypeMapper(labels: readonly string[]): TypeMapper {
  const exact = new Set(labels);
  const add = (map: Map<string, string[]>, key: string, label: string) => {
    const cur = map.get(key) ?? [];
    if (!cur.includes(label)) cur.push(label);
    map.set(key, cur);
  };
  const byCase = new Map<string, string[]>();
  for (const l of labels) add(byCase, normalise(l), l);
  const bySynonym = new Map<string, string[]>();
  for (const l of labels) {
    const words = new Set<string>([normalise(l), ...(SYNONYMS[l.toUpperCase()] ?? [])]);
    // Labels written out ("person", "organisation") also pick up the synonyms of their short form.
    for (const [short, list] of Object.entries(SYNONYMS))
      if (list.includes(normalise(l))) for (const w of [short.toLowerCase(), ...list]) words.add(w);
    for (const w of words) add(bySynonym, w, l);
  }
  const unique = (list: string[] | undefined) => (list?.length === 1 ? list[0] : undefined);
  const cache = new Map<string, MappedType | undefined>();
  return (raw: string) => {
    if (exact.has(raw) || raw === NONE_TYPE) return { type: raw, how: 'exact' };
    if (cache.has(raw)) return cache.get(raw);
    const k = normalise(raw);
    let out: MappedType | undefined;
    const c = unique(byCase.get(k));
    if (c) out = { type: c, how: 'case' };
    else if (NONE_WORDS.has(k)) out = { type: NONE_TYPE, how: 'none-word' };
    else {
      const s = unique(bySynonym.get(k));
      if (s) out = { type: s, how: 'synonym' };
      else if (k.length >= 5) {
        const near = [...bySynonym.keys()].filter(
          (w) => w.length >= 5 && withinEdits(k, w, k.length >= 8 ? 2 : 1),
        );
        const targets = [...new Set(near.flatMap((w) => bySynonym.get(w) ?? []))];
        if (targets.length === 1) out = { type: targets[0], how: 'near' };
      }
    }
    cache.set(raw, out);
    return out;
  };
}

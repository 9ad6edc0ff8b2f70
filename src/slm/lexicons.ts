/**
 * Name and place lists for the CRF (the lexicon features): a token sequence that is a first name, a
 * surname, a city or a country in lists from outside the training data. The gazetteer knows only
 * the training entities; a lexicon also knows the "Jakarta" the training data never showed, which
 * matters most where test entities are new (WNUT-17).
 *
 * Entries are lower-cased and matched longest-first over the lower-cased tokens (tweets write
 * "london"); the token's shape goes with the match, so the CRF weighs "Will" and "will" apart.
 * Off by default: they gain on WNUT-17 and lose on LitBank (docs/slm.md).
 * The lists ship in resources/lexicons/<name>.tsv.gz ("entry<TAB>list" lines, built by
 * scripts/build-lexicons.ts from npm packages); a model refers to them by name and sha256.
 */
import { Gazetteer } from './features.js';
import { readShipped, tabLines } from './resources.js';

export interface LexiconSpec {
  name: string;
  sha256: string;
}

/** The lexicons a new model reads unless told otherwise (`train-slm --lexicons`): none. */
export const DEFAULT_LEXICONS: readonly string[] = [];

export class Lexicon {
  constructor(
    readonly spec: LexiconSpec,
    private readonly entries: Gazetteer,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Per token, `B-list` / `I-list` of the longest matches over the lower-cased tokens. */
  match(tokens: readonly string[]): string[][] {
    return this.entries.match(tokens.map((t) => t.toLowerCase()));
  }

  static async fromSpec(spec: LexiconSpec): Promise<Lexicon> {
    const lex = await loadLexicon(spec.name);
    if (lex.spec.sha256 !== spec.sha256)
      throw new Error(
        `lexicon "${spec.name}" shipped with this el4ner differs from the one the model was trained with ` +
          `(sha256 ${lex.spec.sha256.slice(0, 12)} vs ${spec.sha256.slice(0, 12)}); retrain the model`,
      );
    return lex;
  }
}

/** Reads "entry<TAB>list" lines ('#' lines are comments); an entry is split into tokens at spaces. */
export async function parseLexiconText(text: string, file: string): Promise<Gazetteer> {
  const g = new Gazetteer();
  for (const [entry, list] of await tabLines(text, file, 'entry<TAB>list', (v) => /^[a-z-]+$/.test(v)))
    g.add(entry.split(' '), list);
  return g;
}

const cache = new Map<string, Promise<Lexicon>>();

/** A shipped lexicon, read once per process (giving the event loop its turns while it is read). */
export function loadLexicon(name: string): Promise<Lexicon> {
  const hit = cache.get(name);
  if (hit) return hit;
  const loading = (async () => {
    const { file, text, sha256 } = await readShipped('lexicons', name, 'lexicon');
    return new Lexicon({ name, sha256 }, await parseLexiconText(text, file));
  })();
  // a failed read is not kept: the next call says it again
  loading.catch(() => cache.delete(name));
  cache.set(name, loading);
  return loading;
}

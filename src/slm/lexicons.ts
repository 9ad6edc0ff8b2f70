/**
 * Name and place lists for the CRF (the lexicon features): a token sequence that is a first name, a
 * surname, a city, a country or a brand in lists from outside the training data. The gazetteer
 * knows only the training entities; a lexicon also knows the "Jakarta" or "Netflix" the training
 * data never showed, which matters most where test entities are new (WNUT-17).
 *
 * Entries are lower-cased and matched longest-first over the lower-cased tokens (tweets write
 * "london"); in cased text only capitalised matches count, and the token's shape goes with the
 * match.
 * The lists ship in resources/lexicons/<name>.tsv.gz ("entry<TAB>list" lines, built by
 * scripts/build-lexicons.ts from npm packages); a model refers to them by name and sha256.
 */
import { Gazetteer } from './features.js';
import { readShipped } from './resources.js';

export interface LexiconSpec {
  name: string;
  sha256: string;
}

/** The lexicons every new model reads unless told otherwise (`train-slm --lexicons`). */
export const DEFAULT_LEXICONS: readonly string[] = ['en-names-places'];

export class Lexicon {
  constructor(
    readonly spec: LexiconSpec,
    private readonly entries: Gazetteer,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Per token, `B-list` / `I-list` of the longest matches over the lower-cased tokens. In a sentence
   * with capital letters only matches that begin with a capitalised token count: there "will" or
   * "man" is a word, not a name or a city (bench/lexicon-matches.ts: on the CoNLL-2003 and WNUT-17
   * training data 0-6% of the lower-case name and city matches lie in an entity, 32-97% of the
   * capitalised ones); a sentence without any (lower-cased tweets, MIT movie queries) has no such
   * signal, and every match counts.
   */
  match(tokens: readonly string[]): string[][] {
    const all = this.entries.match(tokens.map((t) => t.toLowerCase()));
    if (!tokens.some((t) => CAPITAL.test(t))) return all;
    let keep = false;
    return all.map((m, i) => {
      if (m.length === 0) return m;
      if (m[0].startsWith('B-')) keep = CAPITAL.test(tokens[i][0] ?? '');
      return keep ? m : [];
    });
  }

  static fromSpec(spec: LexiconSpec): Lexicon {
    const lex = loadLexicon(spec.name);
    if (lex.spec.sha256 !== spec.sha256)
      throw new Error(
        `lexicon "${spec.name}" shipped with this el4ner differs from the one the model was trained with ` +
          `(sha256 ${lex.spec.sha256.slice(0, 12)} vs ${spec.sha256.slice(0, 12)}); retrain the model`,
      );
    return lex;
  }
}

/** Reads "entry<TAB>list" lines ('#' lines are comments); an entry is split into tokens at spaces. */
export function parseLexiconText(text: string, file: string): Gazetteer {
  const g = new Gazetteer();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line || line.startsWith('#')) continue;
    const tab = line.indexOf('\t');
    const list = line.slice(tab + 1);
    if (tab <= 0 || !/^[a-z-]+$/.test(list)) throw new Error(`${file}:${i + 1}: expected "entry<TAB>list"`);
    g.add(line.slice(0, tab).split(' '), list);
  }
  return g;
}

const CAPITAL = /\p{Lu}/u;

const cache = new Map<string, Lexicon>();

export function loadLexicon(name: string): Lexicon {
  const hit = cache.get(name);
  if (hit) return hit;
  const { file, text, sha256 } = readShipped('lexicons', name, 'lexicon');
  const lex = new Lexicon({ name, sha256 }, parseLexiconText(text, file));
  cache.set(name, lex);
  return lex;
}

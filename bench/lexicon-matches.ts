/**
 * How often a lexicon match (src/slm/lexicons.ts) falls inside a gold entity, per list and by the
 * case of the match's first token, over each set's training split: the evidence for counting only
 * capitalised matches in cased text. The matches counted here are the raw ones, before that rule.
 *
 *   node --import tsx bench/lexicon-matches.ts [set...]
 */
import { join } from 'node:path';
import { documentTokens, goldTags, readJsonlDocuments } from '../src/slm/data.js';
import { loadLexicon } from '../src/slm/lexicons.js';
import { sharedData } from '../test/support/replay-systems.js';

const sets = process.argv.slice(2);
const lex = await loadLexicon('en-names-places');
const CAPITAL = /^\p{Lu}/u;
console.log('| set | list | capitalised: matches @ in an entity | lower case: matches @ in an entity |');
console.log('| --- | --- | ---: | ---: |');
for (const set of sets.length ? sets : ['conll2003', 'wnut17', 'litbank', 'mit_movie']) {
  const stats = new Map<string, { cap: [number, number]; low: [number, number] }>();
  for (const d of await readJsonlDocuments(join(sharedData, set, 'train.jsonl'))) {
    const tokens = documentTokens(d);
    const tags = goldTags(d, tokens, 'BIO');
    // every token lower-cased: the raw matches, whatever the sentence's case
    const matches = lex.match(tokens.map((t) => t.text.toLowerCase()));
    let capital = false;
    matches.forEach((m, i) => {
      for (const tag of m) {
        if (tag.startsWith('B-')) capital = CAPITAL.test(tokens[i].text);
        const list = tag.slice(2);
        const s = stats.get(list) ?? { cap: [0, 0], low: [0, 0] };
        const cell = capital ? s.cap : s.low;
        cell[0]++;
        if (tags[i] !== 'O') cell[1]++;
        stats.set(list, s);
      }
    });
  }
  const fmt = ([n, inside]: [number, number]) => (n ? `${n} @ ${((100 * inside) / n).toFixed(0)}%` : '–');
  for (const [list, s] of [...stats].sort())
    console.log(`| ${set} | ${list} | ${fmt(s.cap)} | ${fmt(s.low)} |`);
}

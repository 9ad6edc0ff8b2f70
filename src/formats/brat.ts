/**
 * brat standoff: `NAME.txt` holds the text, `NAME.ann` the annotations, one per line:
 * `T1<TAB>PER 0 5<TAB>Barack`. Offsets are code points by default (brat is written in Python).
 * One document per pair; id = NAME. Read: only text-bound `T` lines become entities.
 * Discontinuous entities (`T2<TAB>LOC 0 5;10 15<TAB>...`) are an error, or with
 * `discontinuous: 'skip'` dropped with a warning, never merged into one span. Event triggers
 * (`T` lines an `E` line points at) are dropped with a warning; relations (R), events (E),
 * attributes (A/M), normalisations (N), equivalences (*) and notes (#) are ignored and counted in
 * one warning per file.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { InputError } from '../core/errors.js';
import { OffsetMap, type OffsetUnit } from '../core/offsets.js';
import type { Entity, NerDocument } from '../core/types.js';
import { readDecodedText } from './decode.js';
import { defaultWarn, type FormatWarning } from './types.js';
import { fromUtf16, makeEntity } from './validate.js';

export interface BratReadOptions {
  offsets?: OffsetUnit;
  discontinuous?: 'error' | 'skip';
  onWarning?: (w: FormatWarning) => void;
  /** Encoding of the .txt and .ann files (default UTF-8, checked). */
  encoding?: string;
}

const IGNORED: Record<string, string> = {
  R: 'relation',
  E: 'event',
  A: 'attribute',
  M: 'attribute',
  N: 'normalisation',
  '*': 'equivalence',
  '#': 'note',
};

function normalizeSpace(s: string): string {
  return s.replace(/\s/g, ' ');
}

export function parseAnn(
  text: string,
  ann: string,
  annFile: string,
  options: BratReadOptions = {},
): Entity[] {
  const unit = options.offsets ?? 'codepoint';
  const warn = options.onWarning ?? defaultWarn;
  const map = new OffsetMap(text);
  const entities: { id: string; entity: Entity; line: number }[] = [];
  const counts = new Map<string, number>();
  const triggers = new Set<string>();
  const lines = ann.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const line = i + 1;
    if (raw.trim() === '') continue;
    const kind = raw[0];
    if (kind !== 'T') {
      const name = IGNORED[kind];
      if (!name)
        throw new InputError(
          `unknown brat annotation line ${JSON.stringify(raw.slice(0, 40))}`,
          annFile,
          line,
        );
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (kind === 'E') {
        // E1<TAB>Type:T3 Role:T1 ...: the first argument is the trigger.
        const m = /^E\S*\t\S+?:(T\S+)/.exec(raw);
        if (m) triggers.add(m[1]);
      }
      continue;
    }
    const cols = raw.split('\t');
    if (cols.length < 2)
      throw new InputError('expected "T<id>\\t<type> <start> <end>\\t<text>"', annFile, line);
    const [id, span] = cols;
    const covered = cols.slice(2).join('\t');
    const m = /^(\S+) (\d+ \d+(?:;\d+ \d+)*)$/.exec(span);
    if (!m)
      throw new InputError(`cannot read ${JSON.stringify(span)} as "<type> <start> <end>"`, annFile, line);
    const fragments = m[2].split(';');
    if (fragments.length > 1) {
      const message = `discontinuous entity ${id} (${m[1]} ${m[2]}) is not supported`;
      if (options.discontinuous === 'skip') {
        warn({ file: annFile, line, message: `${message}: skipped` });
        continue;
      }
      throw new InputError(
        `${message} (read with discontinuous: 'skip' / --skip-discontinuous to drop it)`,
        annFile,
        line,
      );
    }
    const [start, end] = fragments[0].split(' ').map(Number);
    const entity = makeEntity(map, { start, end, type: m[1] }, unit, `entity ${id}`, annFile, line);
    if (cols.length >= 3 && normalizeSpace(covered) !== normalizeSpace(entity.text)) {
      throw new InputError(
        `entity ${id}: text ${JSON.stringify(covered)} does not match the .txt at ${start}-${end} (${JSON.stringify(entity.text)}, ${unit} offsets)`,
        annFile,
        line,
      );
    }
    entities.push({ id, entity, line });
  }
  const kept = entities.filter((e) => !triggers.has(e.id));
  if (kept.length < entities.length) {
    warn({
      file: annFile,
      message: `${entities.length - kept.length} event trigger(s) are not entities: skipped`,
    });
  }
  if (counts.size > 0) {
    const list = [...counts].map(([name, n]) => `${n} ${name}${n === 1 ? '' : 's'}`).join(', ');
    warn({ file: annFile, message: `ignored ${list} (only entities are read)` });
  }
  return kept.map((e) => e.entity);
}

async function readPair(txtFile: string, annFile: string, options: BratReadOptions): Promise<NerDocument> {
  const enc = { encoding: options.encoding };
  const text = await readDecodedText(txtFile, enc);
  let entities: Entity[] = [];
  if (existsSync(annFile)) entities = parseAnn(text, await readDecodedText(annFile, enc), annFile, options);
  else
    (options.onWarning ?? defaultWarn)({
      file: txtFile,
      message: 'no .ann file beside it: read with no entities',
    });
  return { id: basename(txtFile, extname(txtFile)), text, entities };
}

/** Reads a folder of .txt/.ann pairs (sorted by name) or one pair given by its .txt or .ann path. */
export async function readBrat(path: string, options: BratReadOptions = {}): Promise<NerDocument[]> {
  if ((await stat(path)).isDirectory()) {
    const names = (await readdir(path)).sort();
    const txt = new Set(names.filter((n) => n.endsWith('.txt')).map((n) => n.slice(0, -4)));
    for (const n of names) {
      if (n.endsWith('.ann') && !txt.has(n.slice(0, -4))) {
        throw new InputError(`${n} has no ${n.slice(0, -4)}.txt beside it`, join(path, n));
      }
    }
    const docs: NerDocument[] = [];
    for (const stem of [...txt].sort())
      docs.push(await readPair(join(path, `${stem}.txt`), join(path, `${stem}.ann`), options));
    return docs;
  }
  const stem = path.replace(/\.(ann|txt)$/, '');
  if (!existsSync(`${stem}.txt`)) throw new InputError(`no ${basename(stem)}.txt beside it`, path);
  return [await readPair(`${stem}.txt`, `${stem}.ann`, options)];
}

export function formatAnn(doc: NerDocument, unit: OffsetUnit = 'codepoint'): string {
  const map = new OffsetMap(doc.text);
  let out = '';
  doc.entities.forEach((e, i) => {
    if (/\s/.test(e.type) || e.type === '') {
      throw new InputError(
        `document ${JSON.stringify(doc.id)}: type ${JSON.stringify(e.type)} cannot be a brat type (whitespace)`,
      );
    }
    out += `T${i + 1}\t${e.type} ${fromUtf16(map, e.start, unit)} ${fromUtf16(map, e.end, unit)}\t${normalizeSpace(e.text)}\n`;
  });
  return out;
}

/** A file name for a document id: path separators and other unsafe characters become `_`. */
export function safeFileName(id: string): string {
  const s = id.replace(/[/\\:*?"<>|\p{Cc}]/gu, '_');
  return s === '' || s === '.' || s === '..' ? `_${s}` : s;
}

/**
 * Writes one .txt/.ann pair per document into the folder `path`, or, when `path` ends with
 * .ann or .txt, the single document to that pair.
 */
export async function writeBrat(
  path: string,
  docs: readonly NerDocument[],
  unit: OffsetUnit = 'codepoint',
): Promise<string[]> {
  const written: string[] = [];
  if (/\.(ann|txt)$/.test(path)) {
    if (docs.length !== 1) {
      throw new InputError(
        `${docs.length} documents cannot go into one brat pair; give a folder instead`,
        path,
      );
    }
    const stem = path.replace(/\.(ann|txt)$/, '');
    await mkdir(dirname(stem), { recursive: true });
    const ann = formatAnn(docs[0], unit);
    await writeFile(`${stem}.txt`, docs[0].text);
    await writeFile(`${stem}.ann`, ann);
    return [`${stem}.txt`, `${stem}.ann`];
  }
  await mkdir(path, { recursive: true });
  const names = new Map<string, string>();
  for (const d of docs) {
    const name = safeFileName(d.id);
    const prev = names.get(name.toLowerCase());
    if (prev !== undefined) {
      throw new InputError(
        `documents ${JSON.stringify(prev)} and ${JSON.stringify(d.id)} would both be written as ${name}.txt`,
      );
    }
    names.set(name.toLowerCase(), d.id);
  }
  // Pairs of other documents already there would be read back with these as one corpus.
  const others = [
    ...new Set(
      (await readdir(path))
        .filter((f) => /\.(ann|txt)$/.test(f))
        .map((f) => f.replace(/\.(ann|txt)$/, ''))
        .filter((stem) => !names.has(stem.toLowerCase())),
    ),
  ].sort();
  if (others.length > 0)
    throw new InputError(
      `the folder already holds the brat files of ${others.length} other document(s) (${others[0]}, ...), which reading it back would mix in; give a new or empty folder`,
      path,
    );
  // Format every .ann before writing any file, so that a bad document leaves nothing half-written.
  const anns = docs.map((d) => formatAnn(d, unit));
  for (let i = 0; i < docs.length; i++) {
    const stem = join(path, safeFileName(docs[i].id));
    await writeFile(`${stem}.txt`, docs[i].text);
    await writeFile(`${stem}.ann`, anns[i]);
    written.push(`${stem}.txt`, `${stem}.ann`);
  }
  return written;
}

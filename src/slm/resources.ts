/**
 * Files shipped with el4ner in resources/<folder>/<name>.tsv.gz (word clusters, lexicons): where
 * they are, and their text with the sha256 a model records to refer to them.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { eventLoopTurns, type Turns } from '../core/turns.js';

export type ShippedFolder = 'clusters' | 'lexicons';

export function shippedPath(folder: ShippedFolder, name: string): string {
  // src/slm and dist/slm both sit two levels below the package root.
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'resources', folder, `${name}.tsv.gz`);
}

export function shippedExists(folder: ShippedFolder, name: string): boolean {
  return existsSync(shippedPath(folder, name));
}

/**
 * The file's text and the sha256 of its gzipped bytes; `what` names it in the error when it is
 * missing. Read and unzipped off the event loop (an interruptible command keeps its turns).
 */
export async function readShipped(
  folder: ShippedFolder,
  name: string,
  what: string,
): Promise<{ file: string; text: string; sha256: string }> {
  const file = shippedPath(folder, name);
  if (!existsSync(file)) throw new Error(`${what} "${name}" not found (${file})`);
  const raw = await readFile(file);
  return {
    file,
    text: (await promisify(gunzip)(raw)).toString('utf8'),
    sha256: createHash('sha256').update(raw).digest('hex'),
  };
}

/**
 * The "key<TAB>value" lines of a shipped text ('#' lines and blank lines skipped), each checked by
 * `valid`; a line without a tab or with an invalid value is an error naming the file and line.
 * Gives the event loop its turns (src/core/turns.ts): the GloVe clusters have 200k lines.
 */
export async function tabLines(
  text: string,
  file: string,
  expected: string,
  valid: (value: string) => boolean,
  turn: Turns = eventLoopTurns(),
): Promise<Array<[key: string, value: string]>> {
  const out: Array<[string, string]> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const due = turn();
    if (due) await due;
    const line = lines[i];
    if (!line || line.startsWith('#')) continue;
    const tab = line.indexOf('\t');
    const value = line.slice(tab + 1);
    if (tab <= 0 || !valid(value)) throw new Error(`${file}:${i + 1}: expected "${expected}"`);
    out.push([line.slice(0, tab), value]);
  }
  return out;
}

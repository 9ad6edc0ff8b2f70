/** Plain text: one document per .txt file (id = file stem, no entities), or a folder of them (sorted). */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import type { NerDocument } from '../core/types.js';
import { fileStem } from './lines.js';

export async function readText(path: string): Promise<NerDocument[]> {
  if (!(await stat(path)).isDirectory())
    return [{ id: fileStem(path), text: await readFile(path, 'utf8'), entities: [] }];
  const names = (await readdir(path)).filter((n) => n.endsWith('.txt')).sort();
  if (names.length === 0) throw new InputError('the folder has no .txt files', path);
  const docs: NerDocument[] = [];
  for (const n of names)
    docs.push({ id: fileStem(n), text: await readFile(join(path, n), 'utf8'), entities: [] });
  return docs;
}

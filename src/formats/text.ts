/**
 * Plain text, in two shapes:
 * - `text`: one document per .txt file (id = file stem, no entities), or a folder of them (sorted);
 * - `lines`: one document per non-blank line of a file or stdin (id = `<stem>-<line number>`).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../core/errors.js';
import type { NerDocument } from '../core/types.js';
import { type DecodeOptions, readDecodedText } from './decode.js';
import { fileStem, readLines } from './lines.js';

export async function readText(path: string, opts: DecodeOptions = {}): Promise<NerDocument[]> {
  if (path === '-' || !(await stat(path)).isDirectory())
    return [{ id: fileStem(path), text: await readDecodedText(path, opts), entities: [] }];
  const names = (await readdir(path)).filter((n) => n.endsWith('.txt')).sort();
  if (names.length === 0) throw new InputError('the folder has no .txt files', path);
  const docs: NerDocument[] = [];
  for (const n of names)
    docs.push({ id: fileStem(n), text: await readDecodedText(join(path, n), opts), entities: [] });
  return docs;
}

export async function readTextLines(file: string, opts: DecodeOptions = {}): Promise<NerDocument[]> {
  const stem = fileStem(file);
  const docs: NerDocument[] = [];
  for await (const [line, text] of readLines(file, opts))
    if (text.trim() !== '') docs.push({ id: `${stem}-${line}`, text, entities: [] });
  return docs;
}

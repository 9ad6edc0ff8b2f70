/**
 * `el4ner ensemble`: combines the outputs of any NER systems document by document, with the same
 * union / voting code as the pipeline. Documents are aligned by `id`; when a file has no ids
 * (all ids missing or generated as line numbers) they are aligned by position and the texts must
 * be equal.
 */
import { basename } from 'node:path';
import { InputError } from '../../core/errors.js';
import type { NerDocument } from '../../core/types.js';
import { type CombineOptions, combineSystems } from './combine.js';
import { type OverlapPolicy, policyOfData } from './overlaps.js';

export interface PredictionFile {
  file: string;
  docs: readonly NerDocument[];
}

function systemNames(files: readonly PredictionFile[], names?: readonly string[]): string[] {
  if (names) return [...names];
  const base = files.map((f) => basename(f.file).replace(/\.[^.]+$/, ''));
  return base.map((b, i) => (base.indexOf(b) === i && base.lastIndexOf(b) === i ? b : `${b}#${i + 1}`));
}

/** `auto`: nested when any system's output has overlapping entities, else flat. */
export function ensembleOverlapPolicy(
  files: readonly PredictionFile[],
  requested: OverlapPolicy | 'auto' = 'auto',
): OverlapPolicy {
  return requested === 'auto' ? policyOfData(files.flatMap((f) => f.docs)) : requested;
}

export function combinePredictionFiles(
  files: readonly PredictionFile[],
  opts: Omit<CombineOptions, 'overlaps'> & { names?: readonly string[]; overlaps?: OverlapPolicy | 'auto' },
): NerDocument[] {
  const names = systemNames(files, opts.names);
  const combine = { ...opts, overlaps: ensembleOverlapPolicy(files, opts.overlaps) };
  const first = files[0];
  const byId = files.map((f) => {
    const m = new Map<string, NerDocument>();
    for (const d of f.docs) {
      if (m.has(d.id)) throw new InputError(`document id "${d.id}" appears twice`, f.file);
      m.set(d.id, d);
    }
    return m;
  });
  const idsMatch = files.every(
    (f, i) => f.docs.length === first.docs.length && first.docs.every((d) => byId[i].has(d.id)),
  );
  return first.docs.map((doc, pos) => {
    const systems = files.map((f, i) => {
      const other = idsMatch ? byId[i].get(doc.id)! : f.docs[pos];
      if (!other)
        throw new InputError(`no document "${doc.id}" (line ${pos + 1}): the files do not align`, f.file);
      if (other.text !== doc.text)
        throw new InputError(
          `document "${other.id}" has another text than "${doc.id}" in ${first.file}; the files do not align`,
          f.file,
        );
      return { name: names[i], entities: other.entities };
    });
    return { id: doc.id, text: doc.text, entities: combineSystems(doc.text, systems, combine) };
  });
}

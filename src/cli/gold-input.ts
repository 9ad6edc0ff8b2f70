/**
 * Reading the labelled documents a command scores against (`score --gold`, `eval --test` and
 * `--dev`, `view --gold`, `tune --dev`, `ablate --test`, `select --target`): plain text cannot hold labels and is refused; a file with no entity at all (the
 * unlabelled input of a run, given by mistake) scores every prediction as wrong, so it is said.
 */
import { InputError } from '../core/errors.js';
import type { NerDocument } from '../core/types.js';
import type { ReadOptions } from '../formats/types.js';

export async function readGold(
  path: string,
  flag: string,
  options: ReadOptions = {},
): Promise<NerDocument[]> {
  const { detectFormat, readDocuments } = await import('../formats/index.js');
  const format = options.format ?? (path === '-' ? 'jsonl' : await detectFormat(path, options));
  if (format === 'text' || format === 'lines')
    throw new InputError(
      `plain text has no entity labels; ${flag} needs labelled documents (JSONL with entities or tags, CoNLL, spaCy, BRAT)`,
      path,
    );
  const docs = await readDocuments(path, { ...options, format });
  if (docs.length > 0 && docs.every((d) => d.entities.length === 0))
    process.stderr.write(
      `el4ner: warning: ${path} holds no entities: every predicted entity counts as wrong (is it the labelled file?)\n`,
    );
  return docs;
}

/**
 * The entity types of the labelled `docs` (sorted) and, of those, the ones not in `known` with
 * their entity counts: what a model or a label set can never give there.
 */
export function typesMissingFrom(
  docs: readonly NerDocument[],
  known: ReadonlySet<string>,
): { types: string[]; missing: { type: string; entities: number }[] } {
  const counts = new Map<string, number>();
  for (const d of docs) for (const e of d.entities) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
  const types = [...counts.keys()].sort();
  return {
    types,
    missing: types.filter((t) => !known.has(t)).map((type) => ({ type, entities: counts.get(type) ?? 0 })),
  };
}

/**
 * Gold types a method with the label set `labels` never gives (a model trained on other types, a
 * config listing other labels): their entities can only be missed, so it is said before scoring.
 */
export function warnTypesNotGiven(gold: readonly NerDocument[], labels: readonly string[]): void {
  if (labels.length === 0) return;
  const { missing } = typesMissingFrom(gold, new Set(labels));
  if (missing.length === 0) return;
  const count = missing.reduce((a, m) => a + m.entities, 0);
  process.stderr.write(
    `el4ner: warning: gold types the method does not give (its labels: ${labels.join(', ')}): ${missing.map((m) => m.type).join(', ')} (${count} entities, counted as missed)\n`,
  );
}

/**
 * Pairs gold and predicted documents by `id` and checks that the pairs can be compared.
 * A gold document without a prediction is scored against an empty prediction; a prediction
 * for an id the gold set does not have is an input error.
 */
import { InputError } from '../core/errors.js';
import type { Entity, NerDocument } from '../core/types.js';

export interface DocumentPair {
  gold: NerDocument;
  /** The prediction, or a copy of the gold document with no entities when it was missing. */
  pred: NerDocument;
  missing: boolean;
}

export interface Pairing {
  pairs: DocumentPair[];
  missing: number;
}

export interface PairOptions {
  /** Named in error messages. */
  goldFile?: string;
  predFile?: string;
  /**
   * 'id' (default): pair documents with the same id. 'order': pair the i-th gold document with
   * the i-th prediction (for formats without ids, such as CoNLL); both sides must have as many.
   */
  matchBy?: 'id' | 'order';
}

function checkEntities(doc: NerDocument, file: string | undefined): void {
  if (!Array.isArray(doc.entities)) throw new InputError(`document "${doc.id}" has no entities array`, file);
  for (const e of doc.entities as Entity[]) {
    const ok =
      Number.isInteger(e.start) &&
      Number.isInteger(e.end) &&
      e.start >= 0 &&
      e.end > e.start &&
      e.end <= doc.text.length &&
      typeof e.type === 'string' &&
      e.type.length > 0;
    if (!ok) {
      throw new InputError(
        `document "${doc.id}": entity ${JSON.stringify({ start: e.start, end: e.end, type: e.type })} ` +
          `is not a non-empty typed span inside the text (length ${doc.text.length})`,
        file,
      );
    }
  }
}

function checkPrediction(g: NerDocument, p: NerDocument, name: string, file: string | undefined): void {
  if (typeof p.text === 'string' && p.text !== g.text) {
    throw new InputError(
      `${name}: the predicted text differs from the gold text, offsets cannot be compared`,
      file,
    );
  }
  checkEntities({ ...p, text: g.text }, file);
}

function pairByOrder(
  gold: readonly NerDocument[],
  pred: readonly NerDocument[],
  options: PairOptions,
): Pairing {
  // An empty prediction file is every document missing, as when matching by id.
  if (pred.length === 0 && gold.length > 0) return pairDocuments(gold, pred, { ...options, matchBy: 'id' });
  if (gold.length !== pred.length) {
    throw new InputError(
      `matching by order needs as many predicted documents as gold ones (${gold.length}), got ${pred.length}`,
      options.predFile,
    );
  }
  const pairs = gold.map((g, i) => {
    checkPrediction(g, pred[i], `document ${i + 1} ("${pred[i].id}")`, options.predFile);
    return { gold: g, pred: pred[i], missing: false };
  });
  return { pairs, missing: 0 };
}

export function pairDocuments(
  gold: readonly NerDocument[],
  pred: readonly NerDocument[],
  options: PairOptions = {},
): Pairing {
  const goldById = new Map<string, NerDocument>();
  for (const g of gold) {
    if (goldById.has(g.id) && options.matchBy !== 'order') {
      throw new InputError(`document id "${g.id}" appears twice`, options.goldFile);
    }
    if (typeof g.text !== 'string') throw new InputError(`document "${g.id}" has no text`, options.goldFile);
    checkEntities(g, options.goldFile);
    goldById.set(g.id, g);
  }
  if (options.matchBy === 'order') return pairByOrder(gold, pred, options);
  const predById = new Map<string, NerDocument>();
  for (const p of pred) {
    if (!goldById.has(p.id)) {
      throw new InputError(
        `prediction for document id "${p.id}", which is not in the gold set ` +
          '(documents are matched by id; when the ids differ but the files hold the same documents in the same order, as after a conversion, pair them by position: --match order)',
        options.predFile,
      );
    }
    if (predById.has(p.id)) throw new InputError(`document id "${p.id}" appears twice`, options.predFile);
    const g = goldById.get(p.id)!;
    checkPrediction(g, p, `document "${p.id}"`, options.predFile);
    predById.set(p.id, p);
  }
  let missing = 0;
  const pairs: DocumentPair[] = gold.map((g) => {
    const p = predById.get(g.id);
    if (p) return { gold: g, pred: p, missing: false };
    missing++;
    return { gold: g, pred: { id: g.id, text: g.text, entities: [] }, missing: true };
  });
  return { pairs, missing };
}

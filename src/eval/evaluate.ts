/**
 * Scores predicted entities against gold entities, document by document (matched by id).
 * Pure: no I/O. The report's shape is the `el4ner score --json` output.
 */
import type { NerDocument } from '../core/types.js';
import { type PairOptions, pairDocuments } from './align.js';
import {
  type BootstrapResult,
  bootstrapMicroF1,
  type PairedBootstrapResult,
  pairedBootstrap,
} from './bootstrap.js';
import {
  addMuc,
  type MucCounts,
  mucDocument,
  mucSchemas,
  type SchemaName,
  type SchemaScore,
  zeroMuc,
} from './muc.js';
import { addCounts, type Counts, mean, type Prf, prf, zeroCounts } from './prf.js';
import { countDocument, uniqueEntities } from './strict.js';
import { addTokenCounts, documentTokens } from './token-level.js';

export interface TypeScore extends Prf, Counts {
  /** Gold entities of this type (tp + fn). */
  support: number;
}

export interface EvalReport {
  micro: Prf & Counts;
  /** Mean per-type F1 over the types present in gold or prediction. */
  macro_f1: number;
  per_type: Record<string, TypeScore>;
  /** F1 on boundaries alone (type ignored). */
  span_f1: number;
  span: Prf & Counts;
  muc: MucCounts & { schemas: Record<SchemaName, SchemaScore> };
  token_macro: Prf & { types: number; per_type: Record<string, Prf & Counts> };
  bootstrap: BootstrapResult | null;
  documents: number;
  missing_predictions: number;
  /** Against another system's predictions of the same gold documents (`score --against`). */
  comparison?: Comparison;
}

export interface Comparison {
  /** The other system's file, as given. */
  against?: string;
  /** Its strict micro F1, and this system's minus it. */
  against_f1: number;
  delta_f1: number;
  against_missing_predictions: number;
  /** The paired bootstrap over documents; null when it is off. */
  bootstrap: PairedBootstrapResult | null;
}

export interface EvaluateOptions extends PairOptions {
  /** Bootstrap resamples for the micro-F1 interval; 0 turns it off. Default 1000. */
  bootstrap?: number;
  seed?: number;
  /** Another system's predictions of the same gold documents, paired with them as `pred` is. */
  against?: { docs: readonly NerDocument[]; file?: string };
}

/** Each gold document's strict counts against its paired prediction, in gold order. */
function strictCounts(pairs: ReturnType<typeof pairDocuments>['pairs']): Counts[] {
  return pairs.map(
    ({ gold: g, pred: p }) => countDocument(uniqueEntities(g.entities), uniqueEntities(p.entities)).total,
  );
}

function compare(
  gold: readonly NerDocument[],
  perDocument: readonly Counts[],
  f1: number,
  options: EvaluateOptions & { against: NonNullable<EvaluateOptions['against']> },
): Comparison {
  const { pairs, missing } = pairDocuments(gold, options.against.docs, {
    ...options,
    predFile: options.against.file,
  });
  const other = strictCounts(pairs);
  const total = zeroCounts();
  for (const c of other) addCounts(total, c);
  const againstF1 = prf(total).f1;
  return {
    ...(options.against.file ? { against: options.against.file } : {}),
    against_f1: againstF1,
    delta_f1: f1 - againstF1,
    against_missing_predictions: missing,
    bootstrap: pairedBootstrap(perDocument, other, { resamples: options.bootstrap, seed: options.seed }),
  };
}

function scoreTable(counts: Map<string, Counts>): Record<string, Prf & Counts> {
  const out: Record<string, Prf & Counts> = {};
  for (const type of [...counts.keys()].sort()) {
    const c = counts.get(type)!;
    out[type] = { ...prf(c), tp: c.tp, fp: c.fp, fn: c.fn };
  }
  return out;
}

export function evaluate(
  gold: readonly NerDocument[],
  pred: readonly NerDocument[],
  options: EvaluateOptions = {},
): EvalReport {
  const { pairs, missing } = pairDocuments(gold, pred, options);
  const micro = zeroCounts();
  const span = zeroCounts();
  const byType = new Map<string, Counts>();
  const muc = zeroMuc();
  const tokenCounts = new Map<string, Counts>();
  const perDocument: Counts[] = [];

  for (const { gold: g, pred: p } of pairs) {
    const ge = uniqueEntities(g.entities);
    const pe = uniqueEntities(p.entities);
    const dc = countDocument(ge, pe);
    addCounts(micro, dc.total);
    addCounts(span, dc.span);
    for (const [type, c] of dc.byType) {
      if (!byType.has(type)) byType.set(type, zeroCounts());
      addCounts(byType.get(type)!, c);
    }
    perDocument.push(dc.total);
    addMuc(muc, mucDocument(ge, pe));
    addTokenCounts(tokenCounts, documentTokens(g), ge, pe);
  }

  const per_type: Record<string, TypeScore> = {};
  for (const [type, s] of Object.entries(scoreTable(byType))) per_type[type] = { ...s, support: s.tp + s.fn };

  for (const [type, c] of tokenCounts) if (c.tp + c.fp + c.fn === 0) tokenCounts.delete(type);
  const tokenTable = scoreTable(tokenCounts);
  const tokenRows = Object.values(tokenTable);

  const spanPrf = prf(span);
  const microPrf = prf(micro);
  return {
    micro: { ...microPrf, ...micro },
    macro_f1: mean(Object.values(per_type).map((s) => s.f1)),
    per_type,
    span_f1: spanPrf.f1,
    span: { ...spanPrf, ...span },
    muc: { ...muc, schemas: mucSchemas(muc) },
    token_macro: {
      p: mean(tokenRows.map((s) => s.p)),
      r: mean(tokenRows.map((s) => s.r)),
      f1: mean(tokenRows.map((s) => s.f1)),
      types: tokenRows.length,
      per_type: tokenTable,
    },
    bootstrap: bootstrapMicroF1(perDocument, { resamples: options.bootstrap, seed: options.seed }),
    documents: pairs.length,
    missing_predictions: missing,
    ...(options.against
      ? { comparison: compare(gold, perDocument, microPrf.f1, { ...options, against: options.against }) }
      : {}),
  };
}

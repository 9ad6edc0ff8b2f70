/**
 * Degraded rows of `el4ner run` and what they mean for its exit code.
 *
 * A row is degraded when something was lost on the way (a model's vote, a verification, a stage,
 * or every model's answer: then it has an `error`); see `warnings` in the row. A run that wrote
 * or kept degraded rows says so and exits with DEGRADED_EXIT (NO_ANSWER_EXIT when some document
 * got no answer at all), so a script notices; a resume keeps degraded rows only when asked not to
 * retry them, and says how many it kept. `--retry-degraded` drops them from the output and runs
 * those documents again. The commands that score a method (eval, tune, select, ablate) exit
 * with the same codes when the documents they scored were degraded (degradedScores).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isDegraded } from '../core/failures.js';
import type { NerDocument } from '../core/types.js';
import { writeWholeFileSync } from '../core/write-file.js';

/** Every row written, but some are degraded (`degraded: true`, see their `warnings`). */
export const DEGRADED_EXIT = 8;
/** Every row written, but no model answered for some documents (rows with an `error`). */
export const NO_ANSWER_EXIT = 9;

interface RowFlags {
  id?: unknown;
  degraded?: unknown;
  error?: unknown;
  warnings?: NerDocument['warnings'];
}

export function rowIsDegraded(row: RowFlags): boolean {
  return row.degraded === true || typeof row.error === 'string' || isDegraded(row.warnings);
}

export interface DegradedRows {
  /** Ids of degraded rows (those without an answer included). */
  degraded: Set<string>;
  /** Ids of rows no model answered for. */
  unanswered: Set<string>;
}

export function noDegradedRows(): DegradedRows {
  return { degraded: new Set(), unanswered: new Set() };
}

/**
 * The degraded rows of an existing output file (complete lines only; a row that is not JSON is
 * left for the output writer to report).
 */
export function readDegradedRows(path: string): DegradedRows {
  const out = noDegradedRows();
  if (!existsSync(path)) return out;
  const text = readFileSync(path, 'utf8');
  const end = text.lastIndexOf('\n');
  for (const line of text.slice(0, end + 1).split('\n')) {
    if (!line.trim()) continue;
    let row: RowFlags;
    try {
      row = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof row.id !== 'string' || !rowIsDegraded(row)) continue;
    out.degraded.add(row.id);
    if (typeof row.error === 'string') out.unanswered.add(row.id);
  }
  return out;
}

/**
 * Rewrites the output file without the rows of `ids` (to run them again), atomically: a crash
 * leaves the old file or the new one, and the dropped documents are simply not done yet.
 */
export function dropRows(path: string, ids: ReadonlySet<string>): number {
  if (ids.size === 0 || !existsSync(path)) return 0;
  const text = readFileSync(path, 'utf8');
  const end = text.lastIndexOf('\n');
  let dropped = 0;
  const kept: string[] = [];
  for (const line of text.slice(0, end + 1).split('\n')) {
    if (!line.trim()) continue;
    let id: unknown;
    try {
      id = (JSON.parse(line) as { id?: unknown }).id;
    } catch {
      kept.push(line);
      continue;
    }
    if (typeof id === 'string' && ids.has(id)) dropped++;
    else kept.push(line);
  }
  writeWholeFileSync(path, kept.length ? `${kept.join('\n')}\n` : '');
  return dropped;
}

/** Counts what a run wrote, for its closing line and exit code. */
export class RunTally {
  written = 0;
  degraded = 0;
  unanswered = 0;

  add(doc: Pick<NerDocument, 'degraded' | 'error' | 'warnings'>): void {
    this.written++;
    if (rowIsDegraded(doc)) this.degraded++;
    if (doc.error) this.unanswered++;
  }
}

/**
 * The exit code of a finished run and the lines that explain it, from what it wrote and the
 * degraded rows it kept from an earlier run.
 */
export function runOutcome(
  tally: RunTally,
  kept: DegradedRows,
  output: string,
): { code: number; lines: string[] } {
  const degraded = tally.degraded + kept.degraded.size;
  const unanswered = tally.unanswered + kept.unanswered.size;
  const lines: string[] = [];
  if (kept.degraded.size > 0)
    lines.push(
      `${kept.degraded.size} degraded row(s) kept from an earlier run of ${output}; --retry-degraded runs them again`,
    );
  if (tally.degraded > 0)
    lines.push(
      `${tally.degraded} of the ${tally.written} row(s) written are degraded ("degraded": true, see their "warnings")${tally.unanswered ? `, ${tally.unanswered} with no answer from any model ("error")` : ''}; run again with --retry-degraded once the models are back`,
    );
  return { code: degradedExit({ degraded, unanswered }), lines };
}

/** How many documents were degraded, and how many of those no model answered for. */
export interface DegradedCount {
  degraded: number;
  unanswered: number;
}

/** The exit code of a finished command whose documents were degraded (run, and the commands that score a method). */
export function degradedExit(c: DegradedCount): number {
  return c.unanswered > 0 ? NO_ANSWER_EXIT : c.degraded > 0 ? DEGRADED_EXIT : 0;
}

/** The degraded documents among a method's output (as a run would write them). */
export function countDegraded(
  docs: Iterable<Pick<NerDocument, 'degraded' | 'error' | 'warnings'>>,
): DegradedCount {
  const tally = new RunTally();
  for (const d of docs) tally.add(d);
  return { degraded: tally.degraded, unanswered: tally.unanswered };
}

/** One method, candidate, row or expert a command scored, and its degraded documents. */
export interface ScoredDegraded extends DegradedCount {
  /** What was scored: the test file (eval), `candidate 3 (verifier)`, `row full`, `expert news`. */
  what: string;
  documents: number;
}

/** Scored things named one per line; the rest are summed up in one (a search with a model down degrades every run). */
const NAMED_DEGRADED = 5;

/**
 * What degraded documents mean for the scores of eval, tune, select and ablate: one line per
 * scored thing that had some (at most NAMED_DEGRADED, then one for the rest), and the exit code
 * (as `el4ner run`'s) of them all.
 */
export function degradedScores(scored: readonly ScoredDegraded[]): { code: number; lines: string[] } {
  const hit = scored.filter((s) => s.degraded > 0);
  const lines = hit.slice(0, NAMED_DEGRADED).map((s) => {
    const none = s.unanswered
      ? `, ${s.unanswered} with no answer from any model (scored as no entities)`
      : '';
    return `${s.what}: ${s.degraded} of ${s.documents} document(s) degraded${none} (a model's answer lost or unusable): the score is that of the degraded output, not of the method with every model answering; score again once the models answer`;
  });
  const rest = hit.slice(NAMED_DEGRADED);
  if (rest.length > 0)
    lines.push(
      `and ${rest.length} more run(s) with degraded documents (${rest.reduce((a, s) => a + s.degraded, 0)} in all)`,
    );
  return { code: hit.reduce((code, s) => Math.max(code, degradedExit(s)), 0), lines };
}

/**
 * What degraded documents among those a method tuned on (fusion's lambda 'auto' on the dev set)
 * mean: `choice` was made on degraded output, so it is said in one line, with the exit code (as
 * `el4ner run`'s) they give.
 */
export function degradedChoice(tuned: ScoredDegraded, choice: string): { code: number; lines: string[] } {
  if (tuned.degraded === 0) return { code: 0, lines: [] };
  const none = tuned.unanswered ? `, ${tuned.unanswered} with no answer from any model` : '';
  return {
    code: degradedExit(tuned),
    lines: [
      `${tuned.what}: ${tuned.degraded} of ${tuned.documents} document(s) degraded${none} (a model's answer lost or unusable) while ${choice} was chosen on them: a degraded choice, not the one made with every model answering; evaluate again once the models answer`,
    ],
  };
}

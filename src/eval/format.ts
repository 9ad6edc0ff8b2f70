/** The human-readable `el4ner score` report. */
import type { Comparison, EvalReport } from './evaluate.js';

const num = (x: number) => x.toFixed(4);

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => r[c].length)));
  return cells
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
    .join('\n');
}

const signed = (x: number) => `${x >= 0 ? '+' : '-'}${Math.abs(x).toFixed(4)}`;

function formatComparison(f1: number, c: Comparison): string[] {
  const out = [
    '',
    `against ${c.against ?? 'the other predictions'}: micro F1 ${num(f1)} vs ${num(c.against_f1)}, difference ${signed(c.delta_f1)}` +
      (c.against_missing_predictions
        ? ` (${c.against_missing_predictions} gold documents without its prediction)`
        : ''),
  ];
  const b = c.bootstrap;
  if (b)
    out.push(
      `difference ${Math.round(b.level * 100)}% paired bootstrap CI: [${signed(b.delta_low)}, ${signed(b.delta_high)}]; ` +
        `these predictions score higher in ${(b.win_share * 100).toFixed(1)}% of ${b.n} paired resamples (seed ${b.seed})`,
    );
  return out;
}

export function formatReport(r: EvalReport): string {
  const out: string[] = [];
  out.push(
    `documents: ${r.documents}` +
      (r.missing_predictions ? ` (${r.missing_predictions} without a prediction, scored as empty)` : ''),
  );
  out.push('');
  out.push(
    table(
      ['score', 'P', 'R', 'F1', 'tp', 'fp', 'fn'],
      [
        ['strict micro', num(r.micro.p), num(r.micro.r), num(r.micro.f1), r.micro.tp, r.micro.fp, r.micro.fn],
        ['span only', num(r.span.p), num(r.span.r), num(r.span.f1), r.span.tp, r.span.fp, r.span.fn],
        ['token macro', num(r.token_macro.p), num(r.token_macro.r), num(r.token_macro.f1), '', '', ''],
      ],
    ),
  );
  const types = Object.keys(r.per_type).length;
  out.push(`macro F1 (mean over ${types} type${types === 1 ? '' : 's'}): ${num(r.macro_f1)}`);
  if (r.bootstrap) {
    const b = r.bootstrap;
    out.push(
      `micro F1 ${Math.round(b.level * 100)}% bootstrap CI: [${num(b.f1_low)}, ${num(b.f1_high)}] ` +
        `(${b.n} resamples of documents, seed ${b.seed})`,
    );
  }
  if (r.comparison) out.push(...formatComparison(r.micro.f1, r.comparison));
  out.push('');
  out.push('per type (strict)');
  out.push(
    table(
      ['type', 'P', 'R', 'F1', 'tp', 'fp', 'fn', 'support'],
      Object.entries(r.per_type).map(([t, s]) => [
        t,
        num(s.p),
        num(s.r),
        num(s.f1),
        s.tp,
        s.fp,
        s.fn,
        s.support,
      ]),
    ),
  );
  out.push('');
  const m = r.muc;
  out.push(
    `MUC / SemEval-2013 categories: correct ${m.correct}, incorrect ${m.incorrect}, ` +
      `partial ${m.partial} (${m.partial_same_type} with the same type), missed ${m.missed}, spurious ${m.spurious}`,
  );
  out.push(
    table(
      ['schema', 'correct', 'incorrect', 'partial', 'missed', 'spurious', 'P', 'R', 'F1'],
      Object.entries(m.schemas).map(([name, s]) => [
        name,
        s.correct,
        s.incorrect,
        s.partial,
        s.missed,
        s.spurious,
        num(s.p),
        num(s.r),
        num(s.f1),
      ]),
    ),
  );
  return out.join('\n') + '\n';
}

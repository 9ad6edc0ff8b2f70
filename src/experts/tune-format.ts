/** The table `el4ner tune` prints: every candidate, then the held-out comparison. */

import type { TuneResult } from './tune.js';
import { describe } from './tune-settings.js';

const pct = (x: number | null | undefined) => (x == null ? '-' : (100 * x).toFixed(2));

/** Every candidate as a table line, then the held-out comparison. */
export function formatTune(r: TuneResult): string {
  const cv = r.split.folds !== undefined;
  const lines = [
    cv
      ? `tuning on ${r.devSentences} dev sentence(s), cross-validated in ${r.split.folds} folds; ${r.callsUsed} of ${r.budget} call(s) used`
      : `tuning on ${r.devSentences} dev sentence(s): ${r.split.choose} to choose on, ${r.split.heldOut} held out; ${r.callsUsed} of ${r.budget} call(s) used`,
  ];
  if (r.fusion) {
    const f = r.fusion;
    lines.push(
      `fusion lambda: configured ${f.defaultLambda} (dev F1 ${pct(f.defaultF1)}), best ${f.lambda.toPrecision(4)} (dev F1 ${pct(f.f1)}, ${f.valuesTried} values tried, ${f.calls} calls, ${f.status})`,
      `chosen: fusion.lambda ${f.chosen}`,
    );
    return lines.join('\n');
  }
  if (r.candidates.length === 0) return [...lines, 'nothing evaluated'].join('\n');
  lines.push('  #  step         status      F1     wins (vs #)  calls  estimate  settings');
  for (const c of r.candidates) {
    const wins = c.winShare === undefined ? '-' : `${c.winShare.toFixed(2)} (#${c.against})`;
    lines.push(
      `${String(c.id).padStart(3)}  ${c.step.padEnd(11)}  ${c.status.padEnd(10)}  ${c.f1 === undefined ? '     -' : (100 * c.f1).toFixed(2).padStart(6)}  ${wins.padStart(11)}  ${String(c.calls).padStart(5)}  ${String(c.estimate).padStart(8)}  ${c.description}`,
    );
  }
  for (const [i, f] of (r.folds ?? []).entries())
    lines.push(
      `fold ${i + 1} (${f.heldOut} sentences held out): the search on the other folds chose ${f.chosen}: F1 ${pct(f.best?.f1)} there, default ${pct(f.default?.f1)}${f.start && f.start !== f.chosen ? `, its start ${pct(f.startScore?.f1)}` : ''}`,
    );
  lines.push(
    `held out (${r.split.heldOut || r.split.choose} sentences${cv ? ', each scored with the choice of the search that did not see it' : ''}): default F1 ${pct(r.heldOut.default?.f1)}, best candidate F1 ${pct(r.heldOut.best?.f1)}${r.heldOut.start !== undefined ? `, the search's start F1 ${pct(r.heldOut.start?.f1)}` : ''}`,
  );
  lines.push(
    `a change was kept when it won in at least ${r.confidence} of paired bootstrap resamples (wins) against the best before it`,
  );
  lines.push(`chosen: ${describe(r.chosen)}`);
  return lines.join('\n');
}

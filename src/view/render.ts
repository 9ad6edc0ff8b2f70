/**
 * One self-contained HTML page: entities highlighted in their text with a colour per type, a legend,
 * each document's warnings (which model or stage failed or was repaired for it), and with gold
 * given: correct / wrong type / missed / spurious marks, a per-type score table and a confusion
 * matrix. No scripts, no external resources.
 */
import type { DocumentWarning } from '../core/failures.js';
import type { Entity, NerDocument } from '../core/types.js';
import { evaluate, type PairOptions, pairDocuments } from '../eval/index.js';
import { entityLayers, outerFirst } from './layers.js';
import { confusionMatrix, type MarkedEntity, markEntities } from './status.js';

const PALETTE = [
  '#8dd3c7',
  '#ffffb3',
  '#bebada',
  '#fb8072',
  '#80b1d3',
  '#fdb462',
  '#b3de69',
  '#fccde5',
  '#d9d9d9',
  '#bc80bd',
  '#ccebc5',
  '#ffed6f',
  '#a6cee3',
  '#b2df8a',
  '#fb9a99',
  '#cab2d6',
];

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export function typeColours(types: Iterable<string>): Map<string, string> {
  const m = new Map<string, string>();
  for (const [i, t] of [...new Set(types)].sort().entries()) m.set(t, PALETTE[i % PALETTE.length]);
  return m;
}

/** The hover text of an entity: its type, and against gold its status, the gold type, its score. */
function entityTitle(e: MarkedEntity): string {
  return `${e.type}${e.status === 'wrong-type' ? ` (gold: ${e.goldType})` : ''}${e.status !== 'predicted' ? ` - ${e.status}` : ''}${e.score !== undefined ? ` - score ${e.score.toFixed(2)}` : ''}`;
}

interface Drawn {
  e: MarkedEntity;
  /** Its index in the entities given (`data-entity`). */
  i: number;
  start: number;
  end: number;
  layer: number;
}

/** One element of an entity: the whole of it, or a piece of a crossing one. */
interface Piece {
  d: Drawn;
  /** The entity began before this piece / goes on after it. */
  continued: boolean;
  continues: boolean;
}

function openTag({ d, continued, continues }: Piece, colours: Map<string, string>): string {
  const { e, i, layer } = d;
  const cls = `ent ${e.status}${layer > 0 ? ' over' : ''}${continued ? ' continued' : ''}${continues ? ' continues' : ''}`;
  const part =
    continued || continues ? ` data-part="${continued ? (continues ? 'middle' : 'last') : 'first'}"` : '';
  return `<mark class="${cls}" data-entity="${i}" data-type="${escapeHtml(e.type)}" data-status="${e.status}" data-start="${e.start}" data-end="${e.end}"${layer > 0 ? ` data-layer="${layer}"` : ''}${part} style="--c:${colours.get(e.type) ?? '#ddd'};--l:${layer}" title="${escapeHtml(entityTitle(e))}">`;
}

/**
 * Highlights possibly overlapping entities. Entities that nest are one element each, the outer
 * around the inner; one that crosses another is drawn on a layer of its own (src/view/layers.ts)
 * as an underline, split into pieces that say they continue, its type shown once at its end.
 */
export function highlight(
  text: string,
  entities: readonly MarkedEntity[],
  colours: Map<string, string>,
): string {
  const shown = entities
    .map((e, i) => ({ e, i, start: e.start, end: e.end, layer: 0 }))
    .filter(
      (d) =>
        Number.isInteger(d.start) &&
        Number.isInteger(d.end) &&
        0 <= d.start &&
        d.start < d.end &&
        d.end <= text.length,
    );
  const layers = entityLayers(shown);
  for (const [k, d] of shown.entries()) d.layer = layers[k];
  // the order of the open elements: lower layers outside higher ones, within a layer outer first
  const drawn: Drawn[] = [...shown].sort((a, b) => a.layer - b.layer || outerFirst(a, b));
  const points = [...new Set([0, text.length, ...shown.flatMap((d) => [d.start, d.end])])].sort(
    (a, b) => a - b,
  );
  const out: Array<string | Piece> = [];
  let open: Piece[] = [];
  const closeAbove = (keep: number, at: number) => {
    for (let j = open.length - 1; j >= keep; j--) {
      const p = open[j];
      if (p.d.end === at) out.push(`<sup class="tag">${escapeHtml(p.d.e.type)}</sup>`);
      else p.continues = true;
      out.push('</mark>');
    }
    open = open.slice(0, keep);
  };
  for (let k = 0; k + 1 < points.length; k++) {
    const [a, b] = [points[k], points[k + 1]];
    const want = drawn.filter((d) => d.start <= a && d.end >= b);
    let same = 0;
    while (same < open.length && same < want.length && open[same].d === want[same]) same++;
    closeAbove(same, a);
    for (const d of want.slice(same)) {
      const p: Piece = { d, continued: d.start < a, continues: false };
      open.push(p);
      out.push(p);
    }
    out.push(escapeHtml(text.slice(a, b)));
  }
  closeAbove(0, text.length);
  return out.map((x) => (typeof x === 'string' ? x : openTag(x, colours))).join('');
}

const CSS = `
body{font:15px/1.6 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;color:#222;padding:0 1rem}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem}
.legend span{display:inline-block;margin:0 .5rem .3rem 0;padding:0 .4rem;border-radius:3px}
.doc{border-top:1px solid #eee;padding:.6rem 0} .doc .id{color:#888;font-size:.8rem}
mark.ent{background:var(--c);padding:.05rem .15rem;border-radius:3px;color:inherit}
mark.ent mark.ent{padding:0 .1rem}
mark.ent .tag{font-size:.6rem;font-weight:600;margin-left:.15rem;color:#333}
.text mark.ent.over{background:transparent;padding:0 0 calc(var(--l) * .25rem);border-radius:0;border:0 solid color-mix(in srgb,var(--c),#000 30%);border-bottom-width:3px;border-inline-width:2px}
.text mark.ent.over.continued{border-inline-start-width:0} .text mark.ent.over.continues{border-inline-end-width:0}
.text mark.ent.over.missed{outline:none;border-style:dashed}
mark.correct{box-shadow:inset 0 -2px 0 #1a7f37}
mark.wrong-type{box-shadow:inset 0 -3px 0 #d4a72c;outline:1px dashed #d4a72c}
mark.spurious{box-shadow:inset 0 -3px 0 #cf222e;text-decoration:line-through #cf222e}
mark.missed{background:transparent;outline:2px dashed var(--c);outline-offset:-1px}
table{border-collapse:collapse;margin:.5rem 0} td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left} .diag{background:#e6f4ea;font-weight:600}
.key span{margin-right:1rem}
.doc.warned{border-left:3px solid #d4a72c;padding-left:.6rem}
ul.warnings{margin:.3rem 0 0;padding-left:1.2rem;font-size:.8rem;color:#555}
ul.warnings li.failed,ul.warnings li.fallback{color:#cf222e}
.wkind{font-weight:600}`;

/**
 * A document's warnings: the `warnings` of an output row (read back from JSONL they sit in
 * `meta.warnings`, the reader keeping unknown fields there). A file from elsewhere may hold
 * anything there: a message that is not a string is shown as JSON, a model that is not one left out.
 */
export function documentWarnings(d: NerDocument): DocumentWarning[] {
  const raw = d.warnings ?? d.meta?.warnings;
  if (!Array.isArray(raw)) return [];
  return raw
    .filter(
      (w): w is DocumentWarning =>
        w !== null && typeof w === 'object' && typeof w.kind === 'string' && typeof w.stage === 'string',
    )
    .map((w) => ({
      ...w,
      model: typeof w.model === 'string' ? w.model : undefined,
      message: typeof w.message === 'string' ? w.message : (JSON.stringify(w.message) ?? ''),
    }));
}

function warningList(warnings: readonly DocumentWarning[]): string {
  if (warnings.length === 0) return '';
  const items = warnings.map(
    (w) =>
      `<li class="${escapeHtml(w.kind)}" data-kind="${escapeHtml(w.kind)}" data-stage="${escapeHtml(w.stage)}"${w.model ? ` data-model="${escapeHtml(w.model)}"` : ''}><span class="wkind">${escapeHtml(w.kind)}</span> ${escapeHtml(w.stage)}${w.model ? ` (${escapeHtml(w.model)})` : ''}: ${escapeHtml(w.message)}</li>`,
  );
  return `<ul class="warnings">${items.join('')}</ul>`;
}

export interface ViewOptions extends PairOptions {
  title?: string;
  /**
   * Gold documents, paired with the predictions as `el4ner score` pairs them (`matchBy`, default by
   * id; a prediction without gold is an error); enables statuses, scores and the confusion matrix.
   */
  gold?: readonly NerDocument[];
  /** Show at most this many documents (scores still use all). */
  limit?: number;
}

function pct(x: number): string {
  return (100 * x).toFixed(1);
}

/** The documents a page with this limit shows: the first `limit`, or all. */
export function shownDocuments<T>(pred: readonly T[], limit?: number): readonly T[] {
  return limit ? pred.slice(0, limit) : pred;
}

export function renderView(pred: readonly NerDocument[], opts: ViewOptions = {}): string {
  const pairOptions = { goldFile: opts.goldFile, predFile: opts.predFile, matchBy: opts.matchBy };
  const pairs = opts.gold ? pairDocuments(opts.gold, pred, pairOptions).pairs : [];
  const goldOf = new Map(pairs.filter((p) => !p.missing).map((p) => [p.pred, p.gold]));
  const types: string[] = [];
  for (const d of pred) for (const e of d.entities) types.push(e.type);
  for (const d of opts.gold ?? []) for (const e of d.entities) types.push(e.type);
  const colours = typeColours(types);
  const title = opts.title ?? 'el4ner entities';
  const parts: string[] = [];
  parts.push(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>`,
  );
  parts.push(`<h1>${escapeHtml(title)}</h1>`);
  parts.push(
    `<div class="legend" id="legend">${[...colours].map(([t, c]) => `<span data-type="${escapeHtml(t)}" style="background:${c}">${escapeHtml(t)}</span>`).join('')}</div>`,
  );
  if (opts.gold) {
    parts.push(
      '<p class="key"><span><mark class="ent correct" style="--c:#eee">correct</mark></span><span><mark class="ent wrong-type" style="--c:#eee">wrong type</mark></span><span><mark class="ent spurious" style="--c:#eee">spurious</mark></span><span><mark class="ent missed" style="--c:#999">missed</mark></span></p>',
    );
    const report = evaluate(opts.gold, pred, { ...pairOptions, bootstrap: 0 });
    parts.push(
      '<h2>Scores</h2><table id="scores"><tr><th>type</th><th>P</th><th>R</th><th>F1</th><th>support</th></tr>',
    );
    for (const [t, s] of Object.entries(report.per_type)) {
      parts.push(
        `<tr data-type="${escapeHtml(t)}"><td>${escapeHtml(t)}</td><td>${pct(s.p)}</td><td>${pct(s.r)}</td><td>${pct(s.f1)}</td><td>${s.support}</td></tr>`,
      );
    }
    parts.push(
      `<tr><th>micro</th><th>${pct(report.micro.p)}</th><th>${pct(report.micro.r)}</th><th>${pct(report.micro.f1)}</th><th>${report.micro.tp + report.micro.fn}</th></tr></table>`,
    );
    const cm = confusionMatrix(pairs.map((p) => ({ pred: p.pred.entities, gold: p.gold.entities })));
    parts.push(
      '<h2>Confusion matrix (rows: gold, columns: predicted, O: no entity)</h2><table id="confusion"><tr><th></th>',
    );
    parts.push(cm.types.map((t) => `<th>${escapeHtml(t)}</th>`).join(''));
    parts.push('</tr>');
    for (const g of cm.types) {
      parts.push(`<tr><th>${escapeHtml(g)}</th>`);
      for (const p of cm.types) {
        const n = cm.counts[g]?.[p] ?? 0;
        parts.push(`<td class="${g === p ? 'diag' : ''}">${n || ''}</td>`);
      }
      parts.push('</tr>');
    }
    parts.push('</table>');
  }
  const warnedDocs = pred.filter((d) => documentWarnings(d).length > 0);
  if (warnedDocs.length > 0) {
    const byKind = new Map<string, number>();
    for (const d of warnedDocs)
      for (const k of new Set(documentWarnings(d).map((w) => w.kind)))
        byKind.set(k, (byKind.get(k) ?? 0) + 1);
    parts.push(
      `<p id="warnings-summary">${warnedDocs.length} of ${pred.length} documents have warnings: ${[...byKind]
        .sort()
        .map(([k, n]) => `${escapeHtml(k)} ${n}`)
        .join(', ')}.</p>`,
    );
  }
  parts.push('<h2>Documents</h2>');
  const shown = shownDocuments(pred, opts.limit);
  for (const d of shown) {
    const marked = markEntities(
      d.entities as Entity[],
      opts.gold ? (goldOf.get(d)?.entities ?? []) : undefined,
    );
    const warnings = documentWarnings(d);
    parts.push(
      `<div class="doc${warnings.length ? ' warned' : ''}" data-id="${escapeHtml(d.id)}"><div class="id">${escapeHtml(d.id)}</div><div class="text" dir="auto">${highlight(d.text, marked, colours)}</div>${warningList(warnings)}</div>`,
    );
  }
  if (shown.length < pred.length)
    parts.push(`<p>${pred.length - shown.length} more documents not shown.</p>`);
  parts.push('</body></html>');
  return parts.join('');
}

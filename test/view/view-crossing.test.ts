/**
 * Crossing entities (A covers "Barack Obama", B "Obama Hotel": each starts inside the other and
 * ends outside it) on the page of `el4ner view`: each is shown whole, with its type once. The
 * entities that nest stay one highlight each; the crossing one is an underline of its own, in
 * pieces that say they continue. Before, both were cut into fragments at every boundary, and B's
 * start read as an entity nested in A.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openInChromium } from '../support/chromium.js';
import { el4nerAsync, jsonl, tmpDir } from '../support/cli.js';

const TEXT = 'Barack Obama Hotel Chicago opened near the Bank of France .';
const at = (sub: string, type: string) => {
  const start = TEXT.indexOf(sub);
  return { start, end: start + sub.length, type, text: sub };
};
// B crosses A and C; "France" nests in "Bank of France"
const ENTITIES = [
  at('Barack Obama', 'PER'),
  at('Obama Hotel', 'ORG'),
  at('Hotel Chicago', 'FAC'),
  at('Bank of France', 'ORG'),
  at('France', 'LOC'),
];

interface Shown {
  /** The text of the entity's pieces, in page order, without type tags. */
  text: string;
  tags: string[];
  pieces: number;
  parts: (string | null)[];
  /** Each piece drawn: a background, or an underline at least 2px thick. */
  drawn: boolean[];
  tagVisible: boolean;
  /** Where each piece's box ends below the text (its underline). */
  bottoms: number[];
}

test('`el4ner view`: crossing entities are each shown whole with their type once (headless Chromium)', async (t) => {
  const dir = tmpDir('el4ner-view-crossing-');
  const input = join(dir, 'pred.jsonl');
  writeFileSync(input, jsonl([{ id: 'x', text: TEXT, entities: ENTITIES }]));
  const out = join(dir, 'view.html');
  const r = await el4nerAsync(['view', '--input', input, '--out', out]);
  assert.equal(r.code, 0, r.stderr);

  const page = await openInChromium(t, out, { width: 1000, height: 600 });
  // a plain script: the test's own transpiler would add helpers the page does not have
  const shown = (await page.evaluate(`(() => {
    const el = document.querySelector('.doc .text');
    const out = {};
    const of = (i) => (out[i] ??= { text: '', tags: [], pieces: 0, parts: [], drawn: [], tagVisible: false, bottoms: [] });
    const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (n.parentElement.closest('.tag')) continue;
      for (let m = n.parentElement.closest('mark'); m; m = m.parentElement.closest('mark'))
        of(m.dataset.entity).text += n.textContent;
    }
    for (const m of el.querySelectorAll('mark.ent')) {
      const e = of(m.dataset.entity);
      e.pieces++;
      e.parts.push(m.dataset.part ?? null);
      const s = getComputedStyle(m);
      const r = m.getBoundingClientRect();
      const background = s.backgroundColor !== 'rgba(0, 0, 0, 0)';
      const underline = parseFloat(s.borderBottomWidth) >= 2 && s.borderBottomStyle !== 'none';
      e.bottoms.push(Math.round(r.bottom));
      e.drawn.push(r.width > 0 && r.height > 0 && (background || underline));
      const tag = m.querySelector(':scope > sup.tag');
      if (tag) {
        e.tags.push(tag.textContent);
        const b = tag.getBoundingClientRect();
        e.tagVisible = b.width > 0 && b.height > 0 && getComputedStyle(tag).visibility === 'visible';
      }
    }
    return out;
  })()`)) as Record<string, Shown>;

  for (const [i, e] of ENTITIES.entries()) {
    const s = shown[String(i)];
    assert.ok(s, `entity ${i} (${e.text}) is on the page`);
    assert.equal(s.text, e.text, `entity ${i}: its whole text`);
    assert.deepEqual(s.tags, [e.type], `entity ${i}: its type, once`);
    assert.ok(s.tagVisible, `entity ${i}: its type tag is laid out`);
    assert.ok(
      s.drawn.every(Boolean),
      `entity ${i}: every piece is drawn (a background or an underline): ${s.drawn}`,
    );
  }
  // the entities that nest are one element each; the crossing one is cut where the others begin
  // and end, and its pieces say so
  for (const i of [0, 2, 3, 4]) assert.equal(shown[String(i)].pieces, 1, `entity ${i} is one element`);
  assert.deepEqual(shown['1'].parts, ['first', 'middle', 'last']);
  assert.equal(new Set(shown['1'].bottoms).size, 1, `one underline, level: ${shown['1'].bottoms}`);
  const crossing = await page.$$eval('.doc mark.ent[data-entity="1"]', (els) =>
    els.map((m) => ({
      layer: m.getAttribute('data-layer'),
      start: m.getAttribute('data-start'),
      end: m.getAttribute('data-end'),
      title: m.getAttribute('title'),
    })),
  );
  assert.deepEqual(
    crossing,
    Array(3).fill({
      layer: '1',
      start: String(ENTITIES[1].start),
      end: String(ENTITIES[1].end),
      title: 'ORG',
    }),
  );
  // the page reads as the text with each entity's type after it
  assert.equal(
    await page.$eval('.doc .text', (el) => el.textContent),
    'Barack ObamaPER HotelORG ChicagoFAC opened near the Bank of FranceLOCORG .',
  );
  await page.screenshot({ path: join(dir, 'crossing.png') });
});

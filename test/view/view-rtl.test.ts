/**
 * A right-to-left document (Arabic, Hebrew) reads right to left on the page: each document's text
 * takes its direction from its own first strong letter (dir="auto"). Without it, the page's
 * left-to-right paragraph cut the sentence at every entity's type tag and showed the pieces in
 * the wrong order.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openInChromium } from '../support/chromium.js';
import { el4nerAsync, jsonl, tmpDir } from '../support/cli.js';

const AR = 'زار الرئيس بيروت أمس';
const EN = 'Barack Obama visited Paris.';

test('`el4ner view`: an Arabic document is laid out right to left, an English one left to right (headless Chromium)', async (t) => {
  const dir = tmpDir('el4ner-view-rtl-');
  const input = join(dir, 'pred.jsonl');
  const at = (text: string, sub: string, type: string) => {
    const start = text.indexOf(sub);
    return { start, end: start + sub.length, type, text: sub };
  };
  writeFileSync(
    input,
    jsonl([
      { id: 'ar', text: AR, entities: [at(AR, 'بيروت', 'LOC')] },
      { id: 'en', text: EN, entities: [at(EN, 'Paris', 'LOC')] },
    ]),
  );
  const out = join(dir, 'view.html');
  const r = await el4nerAsync(['view', '--input', input, '--out', out]);
  assert.equal(r.code, 0, r.stderr);

  const page = await openInChromium(t, out, { width: 1000, height: 600 });
  // the horizontal centre of each word of a document's text, as laid out (a plain script: the
  // test's own transpiler would add helpers the page does not have)
  const centres = (id: string, words: string[]): Promise<number[]> =>
    page.evaluate(`(() => {
      const el = document.querySelector('.doc[data-id="${id}"] .text');
      const texts = [];
      const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) if (!n.parentElement.closest('.tag')) texts.push(n);
      return ${JSON.stringify(words)}.map((w) => {
        const node = texts.find((t) => t.textContent.includes(w));
        const range = document.createRange();
        const at = node.textContent.indexOf(w);
        range.setStart(node, at);
        range.setEnd(node, at + w.length);
        const b = range.getBoundingClientRect();
        return b.left + b.width / 2;
      });
    })()`);
  const [first, entity, last] = await centres('ar', ['زار', 'بيروت', 'أمس']);
  assert.ok(first > entity && entity > last, `right to left: ${first} > ${entity} > ${last}`);
  const [barack, paris] = await centres('en', ['Barack', 'Paris']);
  assert.ok(barack < paris, 'left to right');
  const dirs = await page.$$eval('.doc .text', (els) =>
    els.map(
      (e) =>
        (globalThis as unknown as { getComputedStyle(x: unknown): { direction: string } }).getComputedStyle(e)
          .direction,
    ),
  );
  assert.deepEqual(dirs, ['rtl', 'ltr']);
});

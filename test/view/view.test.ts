import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { NerDocument } from '../../src/core/types.js';
import { renderView } from '../../src/view/render.js';
import { confusionMatrix, markEntities } from '../../src/view/status.js';
import { openInChromium } from '../support/chromium.js';

const ent = (text: string, sub: string, type: string, from = 0) => {
  const start = text.indexOf(sub, from);
  return { start, end: start + sub.length, type, text: sub };
};

const T = 'Barack Obama visited Paris with <Michelle> & the Bank of France.';
const gold: NerDocument[] = [
  {
    id: 'd1',
    text: T,
    entities: [
      ent(T, 'Barack Obama', 'PER'),
      ent(T, 'Paris', 'LOC'),
      ent(T, 'Michelle', 'PER'),
      ent(T, 'Bank of France', 'ORG'),
      ent(T, 'France', 'LOC'),
    ],
  },
];
const pred: NerDocument[] = [
  {
    id: 'd1',
    text: T,
    entities: [
      ent(T, 'Barack Obama', 'PER'),
      ent(T, 'Paris', 'ORG'),
      ent(T, 'Bank of France', 'ORG'),
      ent(T, 'France', 'LOC'),
      ent(T, 'visited', 'MISC'),
    ],
  },
];

test('statuses: correct, wrong type, spurious, missed', () => {
  const m = markEntities(pred[0].entities, gold[0].entities);
  const by = Object.fromEntries(m.map((e) => [`${e.text}:${e.status}`, e]));
  assert.ok(by['Barack Obama:correct']);
  assert.equal(by['Paris:wrong-type'].goldType, 'LOC');
  assert.ok(by['visited:spurious']);
  assert.ok(by['Michelle:missed']);
  assert.equal(m.length, 6);
  const cm = confusionMatrix([{ pred: pred[0].entities, gold: gold[0].entities }]);
  assert.deepEqual(cm.types, ['LOC', 'MISC', 'ORG', 'PER', 'O']);
  assert.equal(cm.counts.LOC.ORG, 1);
  assert.equal(cm.counts.PER.PER, 1);
  assert.equal(cm.counts.PER.O, 1);
  assert.equal(cm.counts.O.MISC, 1);
});

test('the page escapes text and keeps nested entities', () => {
  const html = renderView(pred, { gold });
  assert.match(
    html,
    /&lt;<mark[^>]*data-status="missed"[^>]*>Michelle<sup class="tag">PER<\/sup><\/mark>&gt; &amp; the/,
  );
  assert.ok(!html.includes('<Michelle>'));
  assert.ok(!/<script/i.test(html));
  // "France" sits inside "Bank of France": both marks are present, nested
  assert.match(
    html,
    /data-type="ORG"[^>]*>[\s\S]*?<mark class="ent correct" data-entity="\d+" data-type="LOC"/,
  );
});

test('headless Chromium renders the highlighted spans', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-view-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, renderView(pred, { gold, title: 'view test' }));
  const page = await openInChromium(t, file, { width: 1000, height: 700 });
  const marks = await page.$$eval('.doc mark.ent', (els) =>
    els
      .filter((e) => e.querySelector('sup.tag'))
      .map((e) => ({
        type: e.getAttribute('data-type'),
        status: e.getAttribute('data-status'),
        text: (e.textContent ?? '').replace(/(PER|LOC|ORG|MISC)$/, ''),
      })),
  );
  const key = (m: { type: string | null; status: string | null }) => `${m.type}/${m.status}`;
  assert.deepEqual(marks.map(key).sort(), [
    'LOC/correct',
    'MISC/spurious',
    'ORG/correct',
    'ORG/wrong-type',
    'PER/correct',
    'PER/missed',
  ]);
  const paris = marks.find((m) => m.status === 'wrong-type');
  assert.equal(paris?.text, 'Paris');
  const bg = await page.$eval(
    '.doc mark.ent.correct[data-type="PER"]',
    (e) =>
      (
        globalThis as unknown as { getComputedStyle(x: unknown): { backgroundColor: string } }
      ).getComputedStyle(e).backgroundColor,
  );
  assert.notEqual(bg, 'rgba(0, 0, 0, 0)');
  const legend = await page.$$eval('#legend span', (els) => els.map((e) => e.textContent));
  assert.deepEqual(legend, ['LOC', 'MISC', 'ORG', 'PER']);
  assert.equal(await page.$$eval('#confusion tr', (rows) => rows.length), 6);
  const shotDir = resolve('docs/img');
  mkdirSync(shotDir, { recursive: true });
  await page.screenshot({ path: join(dir, 'view.png'), fullPage: true });
  if (process.env.EL4NER_UPDATE_SCREENSHOT)
    await page.screenshot({ path: join(shotDir, 'view.png'), fullPage: true });
});

test('`el4ner view` shows each document’s warnings: which model or stage failed or was repaired', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-view-warnings-'));
  // rows as `el4ner run` writes them: `warnings` at the top level
  const rows = [
    {
      id: 'd1',
      text: T,
      entities: pred[0].entities,
      warnings: [
        {
          kind: 'failed',
          stage: 'verify',
          model: 'qwen',
          message: 'SchemaError: no usable answer after 2 request(s)',
        },
        {
          kind: 'repaired',
          stage: 'classify',
          model: 'phi',
          message: 'type mapped: "Person" -> PER (synonym)',
        },
      ],
    },
    { id: 'd2', text: 'Nothing to see .', entities: [] },
  ];
  const input = join(dir, 'pred.jsonl');
  const out = join(dir, 'view.html');
  writeFileSync(input, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const r = spawnSync(process.execPath, [resolve('bin/el4ner.js'), 'view', '--input', input, '--out', out], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<p id="warnings-summary">1 of 2 documents have warnings: failed 1, repaired 1\.<\/p>/);
  assert.match(
    html,
    /<div class="doc warned" data-id="d1">[\s\S]*?<ul class="warnings"><li class="failed" data-kind="failed" data-stage="verify" data-model="qwen">/,
  );
  assert.match(html, /type mapped: &quot;Person&quot; -&gt; PER \(synonym\)/);
  assert.match(html, /<div class="doc" data-id="d2">(?:(?!<ul class="warnings">).)*?<\/div><\/div>/);
});

test('`el4ner view --gold` pairs documents as `el4ner score` does: a CoNLL gold by order, unknown ids refused', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-view-gold-'));
  const el4ner = (...args: string[]) =>
    spawnSync(process.execPath, [resolve('bin/el4ner.js'), ...args], { encoding: 'utf8' });
  const S = 'Angela Merkel visited Paris .';
  const docs = [
    { id: 'a', text: S, entities: [ent(S, 'Angela Merkel', 'PER'), ent(S, 'Paris', 'LOC')] },
    { id: 'b', text: 'Siemens grew .', entities: [ent('Siemens grew .', 'Siemens', 'ORG')] },
  ];
  const pred = join(dir, 'pred.jsonl');
  writeFileSync(pred, `${docs.map((d) => JSON.stringify(d)).join('\n')}\n`);
  // the gold as CoNLL: the same documents, ids by position (gold-0, gold-1)
  const gold = join(dir, 'gold.conll');
  let r = el4ner('convert', pred, gold);
  assert.equal(r.status, 0, r.stderr);
  const out = join(dir, 'view.html');
  r = el4ner('view', '--input', pred, '--gold', gold, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const html = readFileSync(out, 'utf8');
  assert.match(html, /<tr><th>micro<\/th><th>100\.0<\/th><th>100\.0<\/th><th>100\.0<\/th><th>3<\/th><\/tr>/);
  assert.equal((html.match(/data-status="correct"/g) ?? []).length, 3);
  assert.doesNotMatch(html, /data-status="(spurious|missed)"/);

  // by id, as asked: no prediction's id is in the gold file, said with both files' names
  r = el4ner('view', '--input', pred, '--gold', gold, '--out', join(dir, 'by-id.html'), '--match', 'id');
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /pred\.jsonl: prediction for document id "a", which is not in the gold set .*--match order/,
  );
  assert.doesNotMatch(r.stderr, /\n\s+at /);

  // the same id with another text: the offsets cannot be compared
  const other = join(dir, 'other.jsonl');
  writeFileSync(other, `${JSON.stringify({ id: 'a', text: 'Angela Merkel left .', entities: [] })}\n`);
  r = el4ner('view', '--input', other, '--gold', pred, '--out', join(dir, 'other.html'));
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /other\.jsonl: document "a": the predicted text differs from the gold text/);
  r = el4ner('view', '--input', pred, '--gold', gold, '--out', out, '--match', 'title');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--match must be auto, id or order; got "title"/);
});

test('`el4ner view` of hostile input: HTML in text, types, ids, title and warnings stays text in Chromium', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-view-hostile-'));
  const text = 'a <script>alert(1)</script> <img src=x onerror=alert(2)> b';
  const rows = [
    {
      id: '"><img src=x onerror=alert(3)>',
      text,
      entities: [ent(text, '<script>', '<b onmouseover=alert(4)>X</b>'), ent(text, 'img', 'PER')],
      // a `warnings` field from another tool: a message that is not a string, a numeric model
      warnings: [
        { kind: 'failed', stage: 'verify', model: 7, message: { detail: '<i>oops</i>' } },
        { kind: '<u>x</u>', stage: 'classify', message: null },
      ],
    },
  ];
  const input = join(dir, 'pred.jsonl');
  const out = join(dir, 'view.html');
  writeFileSync(input, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const r = spawnSync(
    process.execPath,
    [
      resolve('bin/el4ner.js'),
      'view',
      '--input',
      input,
      '--out',
      out,
      '--title',
      '</title><script>alert(5)</script>',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const { chromium: pw } = await import('playwright-core');
  const browser = await pw.launch({ executablePath: chromium, args: ['--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(pathToFileURL(out).href);
  await page.mouse.move(10, 10);
  assert.deepEqual(dialogs, []);
  assert.equal(await page.title(), '</title><script>alert(5)</script>');
  assert.equal(await page.$$eval('script, img, b, i, u', (els) => els.length), 0);
  const doc = await page.$eval('.doc', (e) => ({
    id: e.getAttribute('data-id'),
    text: e.querySelector('.text')?.textContent,
    warnings: [...e.querySelectorAll('ul.warnings li')].map((li) => li.textContent),
  }));
  assert.equal(doc.id, rows[0].id);
  assert.equal(
    doc.text,
    'a <script><b onmouseover=alert(4)>X</b>alert(1)</script> <imgPER src=x onerror=alert(2)> b',
  );
  assert.deepEqual(doc.warnings, ['failed verify: {"detail":"<i>oops</i>"}', '<u>x</u> classify: null']);
});

test('`el4ner view`: a write that fails half-way leaves the previous page whole', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-view-limit-'));
  const out = join(dir, 'view.html');
  writeFileSync(out, '<p>previous page</p>');
  const big = resolve('../shared/data/conll2003/dev.jsonl');
  // `ulimit -f 64`: writes past 64 KiB fail with EFBIG, as a full disk fails with ENOSPC
  const r = spawnSync(
    'bash',
    [
      '-c',
      'ulimit -f 64 && exec "$0" "$@"',
      process.execPath,
      resolve('bin/el4ner.js'),
      'view',
      '--input',
      big,
      '--out',
      out,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^el4ner: .*view\.html: cannot write: EFBIG/);
  assert.equal(readFileSync(out, 'utf8'), '<p>previous page</p>');
  assert.deepEqual(readdirSync(dir), ['view.html'], 'no temp file is left');
});

test('`el4ner view --limit N` says how many documents the page shows, of how many', async () => {
  const { spawnSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-view-count-'));
  const input = join(dir, 'pred.jsonl');
  const rows = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, text: `Paris ${id} .`, entities: [] }));
  writeFileSync(input, `${rows.map((d) => JSON.stringify(d)).join('\n')}\n`);
  const out = join(dir, 'view.html');
  const view = (...more: string[]) =>
    spawnSync(process.execPath, [resolve('bin/el4ner.js'), 'view', '--input', input, '--out', out, ...more], {
      encoding: 'utf8',
    });
  let r = view('--limit', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, `el4ner: wrote ${out} (2 of 5 documents)\n`);
  assert.equal((readFileSync(out, 'utf8').match(/class="doc/g) ?? []).length, 2);
  r = view('--limit', '9');
  assert.equal(r.stderr, `el4ner: wrote ${out} (5 documents)\n`);
  r = view();
  assert.equal(r.stderr, `el4ner: wrote ${out} (5 documents)\n`);
});

test('`el4ner view` of an empty input or gold (no bytes, or blank lines only) says so, exits 2 and writes no page', async () => {
  const { el4ner } = await import('../support/cli.js');
  const dir = mkdtempSync(join(tmpdir(), 'el4ner-view-empty-'));
  const inputs: Array<[string, string]> = [
    ['empty.jsonl', ''],
    ['blank.jsonl', '\n  \n\n'],
    ['blank.txt', '\n\n'],
  ];
  for (const [name, content] of inputs) {
    const input = join(dir, name);
    writeFileSync(input, content);
    const out = join(dir, `${name}.html`);
    const r = el4ner(['view', '--input', input, '--out', out]);
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.equal(
      r.stderr,
      `el4ner: ${input}: no documents to show (the file is empty or every text is blank)\n`,
    );
    assert.ok(!existsSync(out), `${name}: no page is written`);
  }
  const out = join(dir, 'stdin.html');
  let r = el4ner(['view', '--input', '-', '--out', out], { input: '\n' });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, 'el4ner: stdin: no documents to show (the file is empty or every text is blank)\n');
  // an empty --gold is refused as `score` refuses it, not as predictions missing from the gold
  const pred = join(dir, 'pred.jsonl');
  writeFileSync(pred, `${JSON.stringify({ id: 'a', text: 'Paris .', entities: [] })}\n`);
  const gold = join(dir, 'empty.jsonl');
  r = el4ner(['view', '--input', pred, '--gold', gold, '--out', out]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, `el4ner: ${gold}: no gold documents to score against\n`);
  assert.ok(!existsSync(out));
});

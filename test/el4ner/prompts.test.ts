/**
 * The prompts teach no bias: classification examples mix gold entities with spans that are not
 * entities (answered `none`) and list bare spans like the query; verification examples hold `yes`
 * and `no` items (wrong type, not an entity); entity-free pool sentences reach the extraction
 * examples; every span is named by one occurrence rule ("iCarly ... Carly"); label descriptions of
 * every example config reach every prompt.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { findOccurrences, groundMentions, nameSpan } from '../../src/answers/grounding.js';
import { createTypeMapper } from '../../src/answers/labels.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { type NerDocument, NONE_TYPE } from '../../src/core/types.js';
import { classificationItems, negativeSpans, verificationItems } from '../../src/el4ner/negatives.js';
import { itemName, mentionJson, STEPS } from '../../src/el4ner/prompts.js';
import { classifyPrompt, typeReader } from '../../src/el4ner/stages/classify.js';
import { extractPrompt } from '../../src/el4ner/stages/extract.js';
import { jointPrompt } from '../../src/el4ner/stages/joint.js';
import { preExtractPrompt } from '../../src/el4ner/stages/retrieve.js';
import { verifyPrompt } from '../../src/el4ner/stages/verify.js';
import { demoSourceFromRetriever } from '../../src/retrieval/demo-source.js';
import { LexicalEmbedder } from '../../src/retrieval/embedders.js';
import { DemonstrationRetriever } from '../../src/retrieval/retriever.js';
import { pipelineFor } from '../support/method.js';
import { goldByText, oracleEngine } from '../support/oracle.js';
import { conllDir, readJsonl, repoRoot } from './helpers.js';

const labels = ['LOC', 'MISC', 'ORG', 'PER'];
const pool = readJsonl(path.join(conllDir, 'train.jsonl'), 400);
const withEntities = pool.filter((d) => d.entities.length > 0);
const key = (s: { start: number; end: number }) => `${s.start}:${s.end}`;

/** The examples of a prompt's user message: one `Example:` line and one `=>` annotation line each. */
function examplesOf(content: string): Array<{ text: string; annotation: string }> {
  const lines = content.split('\n');
  const out: Array<{ text: string; annotation: string }> = [];
  for (let i = 0; i + 1 < lines.length; i++)
    if (lines[i].startsWith('Example: ') && lines[i + 1].startsWith('=> '))
      out.push({ text: lines[i].slice('Example: '.length), annotation: lines[i + 1].slice(3) });
  return out;
}
/** The numbered lines of a prompt: only the query's items, after the step. */
const numberedLines = (content: string) => content.split('\n').filter((l) => /^\d+\. /.test(l));

describe('demonstrations without bias', () => {
  it('classification examples mix gold entities with non-entities answered none, and never show the answer in the list', () => {
    let examples = 0;
    let withNone = 0;
    for (const d of withEntities) {
      const items = classificationItems(d);
      const gold = new Map(d.entities.map((e) => [key(e), e.type]));
      for (const it of items) {
        if (it.answer === NONE_TYPE) {
          assert.ok(!gold.has(key(it)), `a gold span answered none: ${it.text}`);
          assert.ok(!d.entities.some((e) => e.text === it.text), `a gold string answered none: ${it.text}`);
        } else assert.equal(gold.get(key(it)), it.answer);
      }
      assert.equal(items.filter((i) => i.answer !== NONE_TYPE).length, d.entities.length);
      examples++;
      if (items.some((i) => i.answer === NONE_TYPE)) withNone++;
    }
    assert.ok(withNone / examples > 0.95, `${withNone} of ${examples} examples show a none`);

    // In the prompt: the shared examples give each entity its type and list spans that are not
    // entities; the only numbered list is the query's, bare spans.
    const query = withEntities[0];
    const demos = withEntities.slice(1, 6);
    const p = classifyPrompt({ labels, demos }, query.text, query.entities);
    const content = p.messages[1].content;
    const shown = examplesOf(content);
    assert.deepEqual(
      shown.map((e) => e.text),
      demos.map((d) => d.text),
    );
    for (const [i, e] of shown.entries()) {
      for (const g of demos[i].entities)
        assert.ok(e.annotation.includes(`${itemName(demos[i].text, g)} (${g.type})`));
      const nones = classificationItems(demos[i]).filter((it) => it.answer === NONE_TYPE);
      if (nones.length) assert.match(e.annotation, /\| not: /);
      for (const n of nones) assert.ok(e.annotation.includes(itemName(demos[i].text, n)), n.text);
    }
    assert.ok(shown.some((e) => / \| not: /.test(e.annotation)));
    assert.deepEqual(
      numberedLines(content),
      query.entities.map((e, i) => `${i + 1}. ${itemName(query.text, e)}`),
    );
    assert.ok(content.indexOf(`${STEPS.type}\nSpans:\n1. `) > content.lastIndexOf('Example: '));
  });

  it('verification examples hold yes and no items: wrong types and non-entities', () => {
    let yes = 0;
    let wrongType = 0;
    let notEntity = 0;
    for (const d of withEntities) {
      const gold = new Map(d.entities.map((e) => [key(e), e.type]));
      for (const it of verificationItems(d, labels)) {
        const g = gold.get(key(it));
        if (it.answer === 'yes') {
          assert.equal(g, it.type, `a yes item that is not gold: ${it.text} ${it.type}`);
          yes++;
        } else if (g !== undefined) {
          assert.notEqual(g, it.type);
          wrongType++;
        } else notEntity++;
      }
    }
    assert.ok(yes > 0 && wrongType > 0 && notEntity > 0, JSON.stringify({ yes, wrongType, notEntity }));
    const noShare = (wrongType + notEntity) / (yes + wrongType + notEntity);
    assert.ok(noShare > 0.1 && noShare < 0.4, `no share ${noShare}`);

    const query = withEntities[0];
    const demos = withEntities.slice(1, 9);
    const p = verifyPrompt({ labels, demos }, query.text, query.entities);
    const shown = examplesOf(p.messages[1].content);
    // the examples hold the `no` items: wrong types of entities ("not LOC: ...") and non-entities ("not: ...")
    assert.ok(shown.some((e) => new RegExp(`\\| not (${labels.join('|')}): `).test(e.annotation)));
    assert.ok(shown.some((e) => / \| not: /.test(e.annotation)));
    for (const [i, e] of shown.entries())
      for (const w of verificationItems(demos[i], labels))
        if (w.answer === 'no' && demos[i].entities.some((g) => g.start === w.start && g.end === w.end))
          assert.ok(e.annotation.includes(`not ${w.type}: ${itemName(demos[i].text, w)}`));
    // the query's list gives each span the type it was given, and no example is query-shaped
    const lines = numberedLines(p.messages[1].content);
    assert.deepEqual(
      lines,
      query.entities.map((e, i) => `${i + 1}. ${itemName(query.text, e)}: ${e.type}`),
    );
  });

  it('negatives are the kinds extractors over-propose, taken from the sentence itself', () => {
    const doc: NerDocument = {
      id: 'n',
      text: 'On Monday Angela Merkel met Cup officials in Berlin , 3-1 ahead of schedule .',
      entities: [
        { start: 10, end: 23, type: 'PER', text: 'Angela Merkel' },
        { start: 45, end: 51, type: 'LOC', text: 'Berlin' },
      ],
    };
    const all = negativeSpans(doc, 10).map((s) => s.text);
    for (const want of ['Monday', 'Merkel', '3-1', 'schedule'])
      assert.ok(all.includes(want), all.join(' | '));
    assert.ok(!all.includes('On'), 'the first word of the sentence is no negative');
    for (const s of negativeSpans(doc, 10)) assert.equal(doc.text.slice(s.start, s.end), s.text);
    assert.deepEqual(negativeSpans(doc), negativeSpans({ ...doc }), 'a pure function of the sentence');
  });

  it('entity-free pool sentences reach the extraction examples', async () => {
    const retriever = await DemonstrationRetriever.build(pool, {
      embedder: new LexicalEmbedder(),
      spans: 'gold',
    });
    const source = demoSourceFromRetriever(retriever, { seed: 1 });
    const query = readJsonl(path.join(conllDir, 'dev.jsonl'), 40).filter((d) => d.entities.length > 1);
    let plain = 0;
    let mixed = 0;
    for (const q of query) {
      const a = await source.select(q.text, q.entities, { mode: 'span-level', k: 5 });
      const b = await source.select(q.text, q.entities, { mode: 'span-level', k: 5, entityFree: 1 });
      assert.equal(b.length, 5);
      if (a.some((d) => d.entities.length === 0)) plain++;
      if (b.some((d) => d.entities.length === 0)) mixed++;
      // the most similar sentences keep their places
      assert.deepEqual(
        b.slice(0, 4).map((d) => d.id),
        a.slice(0, 4).map((d) => d.id),
      );
    }
    assert.equal(plain, 0, 'SpanSim alone never returns an entity-free sentence');
    assert.equal(mixed, query.length);

    // Through the pipeline: the extraction prompt shows an empty answer among its examples.
    const gold = query.slice(0, 3);
    const a = oracleEngine('a', goldByText(gold));
    const p = await pipelineFor({
      config: parseConfig({
        models: [{ name: 'a', engine: 'openai', baseUrl: 'http://127.0.0.1:9/v1', model: 'a' }],
        labels,
        retrieval: { k: 5 },
      }),
      engines: new Map([['a', a]]),
      demos: pool,
    });
    await p.run(gold);
    const spans = a.requests.filter((r) => r.jsonSchema?.name === 'spans');
    assert.equal(spans.length, 3);
    for (const r of spans) assert.match(r.messages[1].content, /\n=> none(\n| \|)/);
    await p.close();
  });
});

describe('one occurrence rule everywhere', () => {
  it('iCarly ... Carly: the examples, the lists and grounding count the same occurrences', () => {
    const text = 'Fans of iCarly cheered when Carly sang .';
    const carly = { start: 28, end: 33, text: 'Carly' };
    assert.equal(text.slice(carly.start, carly.end), 'Carly');
    // a raw substring count says 2 (the one inside "iCarly"), the rule says 1
    assert.equal(text.split('Carly').length - 1, 2);
    assert.deepEqual(findOccurrences(text, 'Carly'), [[28, 33]]);
    assert.deepEqual(nameSpan(text, carly), { text: 'Carly' });
    assert.deepEqual(mentionJson({ text }, carly), { text: 'Carly', occurrence: null });
    assert.equal(itemName(text, carly), 'Carly');
    assert.deepEqual(groundMentions(text, [{ text: 'Carly' }]).spans, [carly]);

    const twice = 'iCarly star Carly met Carly Rae .';
    const second = { start: 22, end: 27, text: 'Carly' };
    assert.deepEqual(nameSpan(twice, second), { text: 'Carly', occurrence: 2, of: 2 });
    assert.equal(itemName(twice, second), 'Carly (occurrence 2 of 2)');
    const m = mentionJson({ text: twice }, second);
    assert.deepEqual(groundMentions(twice, [{ text: m.text, occurrence: m.occurrence! }]).spans, [second]);

    // the "Carly" inside "iCarly" is reached by no occurrence index: it is named by its context
    const inner = { start: 1, end: 6, text: 'Carly' };
    const n = nameSpan(twice, inner);
    assert.equal(n.occurrence, undefined);
    assert.ok(n.context?.includes('iCarly'), JSON.stringify(n));
    assert.deepEqual(groundMentions(twice, [{ text: 'Carly', context: n.context }]).spans, [inner]);
  });

  it('classification items carry their occurrence, and answers naming a span by text and occurrence find it', () => {
    const text = 'Carly met Carly and Carly again .';
    const spans = [0, 10, 20].map((s) => ({ start: s, end: s + 5, text: 'Carly' }));
    const p = classifyPrompt({ labels, demos: [] }, text, spans);
    assert.match(
      p.messages[1].content,
      /1\. Carly \(occurrence 1 of 3\)\n2\. Carly \(occurrence 2 of 3\)\n3\. Carly \(occurrence 3 of 3\)\nAnswer:$/,
    );
    const r = typeReader(text, spans, createTypeMapper(labels)).read({
      answers: [
        { span: 'Carly', occurrence: 3, type: 'PER' },
        { span: 'Carly', occurrence: 1, type: 'none' },
      ],
    });
    assert.deepEqual(
      [...r.value!.types],
      [
        [3, 'PER'],
        [1, 'none'],
      ],
    );
    assert.ok(r.repairs.some((x) => x.startsWith('shape read leniently: answers named by span')));
  });
});

describe('label descriptions', () => {
  const dir = path.join(repoRoot, 'examples/configs');
  const configs = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  const sets = readdirSync(path.join(repoRoot, '../shared/data'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);

  it('every shipped data set has an example config with a one-line description of each of its labels', () => {
    assert.deepEqual(configs.map((f) => f.replace(/\.yaml$/, '')).sort(), [...sets].sort());
    for (const set of sets) {
      const cfg = loadConfig(path.join(dir, `${set}.yaml`));
      const types = new Set<string>();
      for (const split of ['train', 'dev', 'test']) {
        let docs: NerDocument[] = [];
        try {
          docs = readJsonl(path.join(repoRoot, '../shared/data', set, `${split}.jsonl`));
        } catch {
          continue;
        }
        for (const d of docs) for (const e of d.entities) types.add(e.type);
      }
      assert.deepEqual([...(cfg.labels ?? [])].sort(), [...types].sort(), set);
      for (const l of cfg.labels ?? []) {
        const d = cfg.labelDescriptions?.[l];
        assert.ok(d && d.trim().length > 5 && !d.includes('\n'), `${set}: ${l} has no one-line description`);
      }
      assert.deepEqual(Object.keys(cfg.labelDescriptions ?? {}).sort(), [...(cfg.labels ?? [])].sort());
      assert.ok(cfg.pool && readJsonl(cfg.pool, 1).length === 1, `${set}: the pool ${cfg.pool} is readable`);
    }
  });

  it('reach the instructions of every prompt', () => {
    for (const f of configs) {
      const cfg = loadConfig(path.join(dir, f));
      const ctx = { labels: cfg.labels ?? [], descriptions: cfg.labelDescriptions, demos: [] };
      const s = 'A sentence .';
      const span = [{ start: 2, end: 10, text: 'sentence' }];
      const prompts = [
        preExtractPrompt(ctx, s),
        extractPrompt(ctx, s),
        classifyPrompt(ctx, s, span),
        verifyPrompt(ctx, s, [{ ...span[0], type: ctx.labels[0] }]),
        jointPrompt(ctx, s),
      ];
      for (const p of prompts)
        for (const l of ctx.labels)
          assert.ok(
            p.messages[0].content.includes(`- ${l}: ${cfg.labelDescriptions?.[l]}`),
            `${f}: ${p.jsonSchema.name} lacks the description of ${l}`,
          );
    }
  });
});

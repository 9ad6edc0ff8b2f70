import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildInlineMessages, markInline, parseInlineOutput } from '../../src/fusion/inline-tagging.js';
import { sharedDocs } from './helpers.js';

const TYPES = ['PER', 'LOC', 'ORG'];

function parse(output: string, input: string, tokens?: Array<{ text: string; start: number; end: number }>) {
  return parseInlineOutput(output, { text: input, tokens }, TYPES);
}

function summary(output: string, input: string) {
  return parse(output, input).entities.map((e) => [e.type, e.text, e.start, e.end]);
}

describe('inline tagging parser', () => {
  it('maps a clean rewrite to offsets and tokens', () => {
    const input = 'Barack Obama visited Paris .';
    const r = parse('<PER>Barack Obama</PER> visited <LOC>Paris</LOC> .', input);
    assert.deepEqual(
      r.entities.map((e) => [e.type, e.text, e.start, e.end, e.tokenStart, e.tokenEnd]),
      [
        ['PER', 'Barack Obama', 0, 12, 0, 2],
        ['LOC', 'Paris', 21, 26, 3, 4],
      ],
    );
    for (const e of r.entities) assert.equal(input.slice(e.start, e.end), e.text);
    assert.equal(r.coverage, 1);
  });

  it('ignores prose and code fences around the sentence', () => {
    const out =
      'Sure! Here is the sentence with the entities marked:\n\n```\n<PER>Barack Obama</PER> visited <LOC>Paris</LOC> .\n```\nLet me know if you need anything else.';
    assert.deepEqual(summary(out, 'Barack Obama visited Paris .'), [
      ['PER', 'Barack Obama', 0, 12],
      ['LOC', 'Paris', 21, 26],
    ]);
  });

  it('closes an unclosed tag at the next tag, or at the end of the line', () => {
    const r = parse(
      '<PER>Obama visited <LOC>Paris</LOC> with <ORG>NATO\nThat is all.',
      'Obama visited Paris with NATO',
    );
    assert.deepEqual(
      r.entities.map((e) => [e.type, e.text, e.closed]),
      [
        ['PER', 'Obama visited', false],
        ['LOC', 'Paris', true],
        ['ORG', 'NATO', false],
      ],
    );
    assert.equal(r.unclosed, 2);
  });

  it('counts unknown types and marks nothing with them', () => {
    const r = parse(
      '<PER>Obama</PER> drank <DRINK>coffee</DRINK> in <Loc>Paris</Loc>',
      'Obama drank coffee in Paris',
    );
    assert.deepEqual(
      r.entities.map((e) => [e.type, e.text]),
      [
        ['PER', 'Obama'],
        ['LOC', 'Paris'],
      ],
    );
    assert.deepEqual(r.unknownTypes, { DRINK: 1 });
  });

  it('an unknown tag inside an entity does not close it', () => {
    const r = parse('<ORG>Bank of <X>England</X></ORG> rose', 'Bank of England rose');
    assert.deepEqual(
      r.entities.map((e) => [e.type, e.text]),
      [['ORG', 'Bank of England']],
    );
    assert.deepEqual(r.unknownTypes, { X: 1 });
  });

  it('tolerates changed case and spacing, returning the input text', () => {
    const input = 'barack obama visited PARIS .';
    assert.deepEqual(summary('< per >Barack  Obama</per> visited <Loc> Paris</Loc>.', input), [
      ['PER', 'barack obama', 0, 12],
      ['LOC', 'PARIS', 21, 26],
    ]);
  });

  it('survives dropped words and never invents added ones', () => {
    const input = 'Obama , the president , visited Paris on Monday .';
    assert.deepEqual(summary('<PER>Obama</PER> visited <LOC>Paris</LOC> on Monday.', input), [
      ['PER', 'Obama', 0, 5],
      ['LOC', 'Paris', 32, 37],
    ]);
    // "President" is not in the input: the entity keeps only what is.
    assert.deepEqual(summary('<PER>President Obama</PER> visited <LOC>Paris</LOC>', 'Obama visited Paris'), [
      ['PER', 'Obama', 0, 5],
      ['LOC', 'Paris', 14, 19],
    ]);
  });

  it('drops an entity whose text is not in the input', () => {
    const r = parse('<PER>Biden</PER> visited <LOC>Paris</LOC>', 'Obama visited Paris');
    assert.deepEqual(
      r.entities.map((e) => [e.type, e.text]),
      [['LOC', 'Paris']],
    );
    assert.equal(r.unaligned, 1);
  });

  it('aligns repeated words to the right occurrence', () => {
    const input = 'Paris Hilton flew from Paris to London';
    assert.deepEqual(
      summary('<PER>Paris Hilton</PER> flew from <LOC>Paris</LOC> to <LOC>London</LOC>', input),
      [
        ['PER', 'Paris Hilton', 0, 12],
        ['LOC', 'Paris', 23, 28],
        ['LOC', 'London', 32, 38],
      ],
    );
  });

  it('works on Chinese with one token per character', () => {
    const input = '张三去了北京';
    const tokens = [...input].map((c, i) => ({ text: c, start: i, end: i + 1 }));
    const r = parse('<PER>张三</PER>去了<LOC>北京</LOC>。', input, tokens);
    assert.deepEqual(
      r.entities.map((e) => [e.type, e.text, e.tokenStart, e.tokenEnd]),
      [
        ['PER', '张三', 0, 2],
        ['LOC', '北京', 4, 6],
      ],
    );
  });

  it('counts stray closing tags and lets </> close the open entity', () => {
    const r = parse('</PER>Obama met <PER>Merkel</> in Berlin', 'Obama met Merkel in Berlin');
    assert.equal(r.strayClosing, 1);
    assert.deepEqual(
      r.entities.map((e) => [e.type, e.text]),
      [['PER', 'Merkel']],
    );
  });

  it('snaps an entity to whole input tokens and drops overlaps', () => {
    const r = parse('<ORG>Micro</ORG><ORG>soft</ORG> rose', 'Microsoft rose');
    assert.deepEqual(
      r.entities.map((e) => [e.type, e.text]),
      [['ORG', 'Microsoft']],
    );
    assert.equal(r.overlapping, 1);
  });

  it('reads the tagged copy when the model first echoes the sentence', () => {
    const input = 'Obama visited Paris .';
    const out = 'Sentence: Obama visited Paris .\nTagged: <PER>Obama</PER> visited <LOC>Paris</LOC> .';
    assert.deepEqual(summary(out, input), [
      ['PER', 'Obama', 0, 5],
      ['LOC', 'Paris', 14, 19],
    ]);
  });

  it('finds a rewrite that starts far into a long input', () => {
    const filler = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    const input = `${filler} Obama visited Paris .`;
    assert.deepEqual(summary('<PER>Obama</PER> visited <LOC>Paris</LOC> .', input), [
      ['PER', 'Obama', filler.length + 1, filler.length + 6],
      ['LOC', 'Paris', filler.length + 15, filler.length + 20],
    ]);
  });

  it('an empty or unrelated answer yields no entities', () => {
    assert.deepEqual(parse('', 'Obama visited Paris').entities, []);
    assert.deepEqual(parse('I cannot help with that.', 'Obama visited Paris').entities, []);
  });
});

describe('inline prompt', () => {
  it('marks demonstrations inline and puts the sentence last', () => {
    assert.equal(
      markInline('Obama visited Paris', [
        { start: 14, end: 19, type: 'LOC' },
        { start: 0, end: 5, type: 'PER' },
      ]),
      '<PER>Obama</PER> visited <LOC>Paris</LOC>',
    );
    const msgs = buildInlineMessages('Merkel met Macron', {
      types: TYPES,
      demonstrations: [
        { text: 'Obama visited Paris', entities: [{ start: 0, end: 5, type: 'PER', text: 'Obama' }] },
      ],
    });
    assert.equal(msgs[0].role, 'system');
    assert.match(msgs[0].content, /PER, LOC, ORG/);
    assert.deepEqual(
      msgs.slice(1).map((m) => [m.role, m.content]),
      [
        ['user', 'Obama visited Paris'],
        ['assistant', '<PER>Obama</PER> visited Paris'],
        ['user', 'Merkel met Macron'],
      ],
    );
  });
});

describe('inline round trip on shared data', () => {
  it('Chinese (resume): gold written inline without spaces parses back to the gold entities', () => {
    const docs = sharedDocs('resume', 'dev', 80);
    const types = [...new Set(docs.flatMap((d) => d.entities.map((e) => e.type)))];
    let n = 0;
    for (const d of docs) {
      const out = markInline(d.text, d.entities).replace(/ /g, '');
      const r = parseInlineOutput(out, { text: d.text, tokens: d.tokens }, types);
      assert.deepEqual(
        r.entities.map((e) => [e.start, e.end, e.type]),
        d.entities.map((e) => [e.start, e.end, e.type]),
        d.id,
      );
      n += r.entities.length;
    }
    assert.ok(n > 100);
  });

  it('English (wnut17): gold inline with doubled spaces and upper case parses back', () => {
    const docs = sharedDocs('wnut17', 'dev', 150);
    const types = [...new Set(docs.flatMap((d) => d.entities.map((e) => e.type)))];
    for (const d of docs) {
      const out = markInline(d.text, d.entities).replace(/ /g, '  ').toUpperCase();
      const r = parseInlineOutput(out, { text: d.text, tokens: d.tokens }, types);
      assert.deepEqual(
        r.entities.map((e) => [e.start, e.end, e.type]),
        d.entities.map((e) => [e.start, e.end, e.type]),
        d.id,
      );
    }
  });
});

/**
 * `el4ner run` and `el4ner eval` with fusion against a real HTTP server whose answers are poor in
 * ways real servers' are: an answer about another text (or an empty one), and answers without
 * logprobs. The documents must come out flagged and the report must count them for what they are.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { markInline } from '../../src/fusion/inline-tagging.js';
import type { FusionReport } from '../../src/fusion/pipeline.js';
import type { CrfTagger } from '../../src/slm/tagger.js';
import { sharedDocs } from '../fusion/helpers.js';
import { jsonl, readRows, spanKeys } from '../support/cli.js';
import { type FusionWorld, startFusionWorld } from '../support/fusion-world.js';
import type { ScriptedServer } from '../support/scripted-server.js';

describe('fusion against an LLM whose answers are unusable or carry no logprobs (CLI)', () => {
  let world: FusionWorld;
  let dir: string;
  let crf: CrfTagger;
  let srv: ScriptedServer;
  const el4ner = (args: string[]) => world.el4ner(args);
  let mode: 'other-text' | 'empty' | 'no-logprobs' | 'pieces' = 'other-text';
  const test = sharedDocs('conll2003', 'dev', 12).filter((d) => d.text.length > 20);
  const byText = new Map(test.map((d) => [d.text, d]));
  // Documents of three sentences, sent in three pieces (maxChars 120, one sentence each) for the
  // 'pieces' mode: the server gives logprobs to the pieces of `mixed` that start it and of `all`,
  // and to none of `none`'s: only `none` got no logprobs at all.
  const sentences = sharedDocs('conll2003', 'dev', 300)
    .map((d) => d.text)
    .filter((t) => !t.includes('\n') && / \.$/.test(t) && t.length > 65 && t.length < 110);
  const long = (from: number) => sentences.slice(from, from + 3).join(' ');
  const pieced = { mixed: long(0), all: long(3), none: long(6) };

  before(async () => {
    world = await startFusionWorld({
      name: 'fusion-answers',
      trainSentences: 60,
      maxIterations: 15,
      test,
      chat: (req) => {
        const text = String(req.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '');
        const d = byText.get(text);
        if (mode === 'pieces') {
          const withLogprobs = pieced.mixed.startsWith(text) || pieced.all.includes(text);
          return { content: text, ...(withLogprobs ? { logprobs: 'auto' as const } : {}) };
        }
        if (mode === 'empty') return { content: '', logprobs: 'auto' };
        // A confident answer about some other sentence (a mixed-up batch, a wrong cache entry).
        if (mode === 'other-text' || !d)
          return {
            content: 'The <ORG>Commission</ORG> said on Thursday it would not act .',
            logprobs: 'auto',
          };
        return { content: markInline(d.text, d.entities) };
      },
    });
    ({ dir, crf, srv } = world);
    writeFileSync(
      path.join(dir, 'fusion.json'),
      JSON.stringify({
        models: [
          {
            name: 'tagger',
            engine: 'openai',
            baseUrl: srv.url,
            model: 'tagger',
            server: 'vllm',
            maxAttempts: 1,
            timeoutMs: 5000,
          },
        ],
        labels: ['LOC', 'MISC', 'ORG', 'PER'],
        fusion: { slm: 'crf.model', llm: 'tagger', lambda: 5 },
      }),
    );
    writeFileSync(
      path.join(dir, 'pieces.json'),
      JSON.stringify({
        ...JSON.parse(readFileSync(path.join(dir, 'fusion.json'), 'utf8')),
        maxChars: 120,
      }),
    );
    writeFileSync(
      path.join(dir, 'pieces.jsonl'),
      jsonl(Object.entries(pieced).map(([id, text]) => ({ id, text, entities: [] }))),
    );
  });
  after(() => world?.close());

  const crfAlone = () => crf.predictAll(test.map((d) => ({ id: d.id, text: d.text }))).map(spanKeys);

  for (const m of ['other-text', 'empty'] as const) {
    it(`run: an answer that is not a rewrite of the text (${m}) is a failed answer; the SLM's entities stand, flagged`, async () => {
      mode = m;
      const out = path.join(dir, `out-${m}.jsonl`);
      const r = await el4ner([
        'run',
        '--config',
        'fusion.json',
        '--input',
        'input.jsonl',
        '--output',
        out,
        '--no-cache',
      ]);
      assert.equal(r.code, 8, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`${test.length} of ${test.length} document\\(s\\) tagged by the supervised CRF alone`),
      );
      const rows = readRows(out);
      assert.equal(rows.length, test.length);
      for (const row of rows) {
        assert.equal(row.degraded, true);
        assert.equal((row.meta as { fallback?: string }).fallback, 'slm');
        assert.ok(
          row.warnings?.some((w) => /does not rewrite the text/.test(w.message)),
          JSON.stringify(row.warnings),
        );
      }
      // With lambda 5 the stray characters aligned by chance would have let the answer remove or
      // retype the SLM's entities; now the SLM's answer is kept whole.
      assert.deepEqual(rows.map(spanKeys), crfAlone());
    });
  }

  it("eval: such answers count as LLM failures, and 'fused' is the SLM alone", async () => {
    mode = 'other-text';
    const reportFile = path.join(dir, 'report.json');
    const r = await el4ner([
      'eval',
      '--config',
      'fusion.json',
      '--test',
      'test.jsonl',
      '--report',
      reportFile,
      '--no-cache',
    ]);
    // the report and scores are written, and the exit code says they are those of a degraded method
    assert.equal(r.code, 8, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^el4ner: test\\.jsonl: ${test.length} of ${test.length} document\\(s\\) degraded .*not of the method with every model answering`,
        'm',
      ),
    );
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as FusionReport & {
      degradedDocuments: number;
    };
    assert.equal(report.fallbacks['llm-error'], test.length);
    assert.equal(report.degradedDocuments, test.length);
    assert.deepEqual(report.fused.strict, report.slm.strict);
    assert.equal(report.llm?.strict.tp, 0);
    assert.match(r.stdout, new RegExp(`LLM failures \\(SLM used alone\\): ${test.length};`));
  });

  it('run: answers without logprobs are said on stderr (the LLM could not change anything)', async () => {
    mode = 'no-logprobs';
    const out = path.join(dir, 'out-nolp.jsonl');
    const r = await el4ner([
      'run',
      '--config',
      'fusion.json',
      '--input',
      'input.jsonl',
      '--output',
      out,
      '--no-cache',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `${test.length} of ${test.length} document\\(s\\): the fusion LLM tagger answered without logprobs`,
      ),
    );
    assert.deepEqual(readRows(out).map(spanKeys), crfAlone());
  });

  it('run: documents where only some pieces came without logprobs are said apart from those where none had any', async () => {
    mode = 'pieces';
    const out = path.join(dir, 'out-pieces.jsonl');
    const r = await el4ner([
      'run',
      '--config',
      'pieces.json',
      '--input',
      'pieces.jsonl',
      '--output',
      out,
      '--no-cache',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const asked = srv.requests.filter((q) => {
      const text = String(q.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '');
      return Object.values(pieced).some((t) => t !== text && t.includes(text));
    });
    assert.equal(asked.length, 9, 'each document went in three pieces');
    assert.match(
      r.stderr,
      /^el4ner: 1 of 3 document\(s\): the fusion LLM tagger answered without logprobs, so its answer could not change the SLM's entities there/m,
    );
    assert.match(
      r.stderr,
      /^el4ner: 1 of 3 document\(s\): the fusion LLM tagger answered 2 of 3 piece\(s\) without logprobs, so its answer could not change the SLM's entities in those pieces/m,
    );

    const reportFile = path.join(dir, 'report-pieces.json');
    const e = await el4ner([
      'eval',
      '--config',
      'pieces.json',
      '--test',
      'pieces.jsonl',
      '--report',
      reportFile,
      '--no-cache',
    ]);
    assert.equal(e.code, 0, e.stderr);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as FusionReport;
    assert.deepEqual([report.withoutLogprobs, report.partlyWithoutLogprobs], [1, 1]);
    assert.match(e.stdout, /answers without logprobs: 1, in some pieces only: 1;/);
  });
});

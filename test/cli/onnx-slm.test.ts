/**
 * `el4ner run` with a transformer token classifier as fusion.slm, end to end through the CLI: a
 * tiny real ONNX graph and tokenizer.json written here, configs pointing at the folder (relative
 * to the config file), real HTTP servers for the LLMs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Entity, NerDocument } from '../../src/core/types.js';
import { llmScore, slmConfidence } from '../../src/fusion/fuse.js';
import { markInline } from '../../src/fusion/inline-tagging.js';
import { loadSlm } from '../../src/slm/load.js';
import { el4nerAsync, jsonl, readRows } from '../support/cli.js';
import { writeModelFolder } from '../support/onnx/folder.js';
import { wordPieceTokenizer } from '../support/onnx/tokenizers.js';
import { startOracleServer } from '../support/oracle-server.js';
import { type ScriptedServer, startScriptedServer } from '../support/scripted-server.js';

// a child process, so the scripted servers of this test process keep answering
const el4ner = (args: string[], cwd: string) => el4nerAsync(args, { cwd, timeoutMs: 600_000 });

/** A document whose entities are given as [surface, type] in order of appearance. */
function doc(id: string, text: string, ents: [string, string][]): NerDocument {
  let from = 0;
  const entities: Entity[] = ents.map(([t, type]) => {
    const start = text.indexOf(t, from);
    assert.ok(start >= 0, `${t} in ${text}`);
    from = start + t.length;
    return { start, end: start + t.length, type, text: t };
  });
  return { id, text, entities };
}

const GOLD = [
  doc('1', 'Peter Blackburn visited Acme in Paris on Monday .', [
    ['Peter Blackburn', 'PER'],
    ['Acme', 'ORG'],
    ['Paris', 'LOC'],
  ]),
  doc('2', 'Acme opened an office in Berlin .', [
    ['Acme', 'ORG'],
    ['Berlin', 'LOC'],
  ]),
  doc('3', 'Maria Lopez met Peter Blackburn in Madrid .', [
    ['Maria Lopez', 'PER'],
    ['Peter Blackburn', 'PER'],
    ['Madrid', 'LOC'],
  ]),
];
const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'];
const spans = (d: { entities: readonly Entity[] }) => d.entities.map((e) => `${e.text}/${e.type}`);

describe('el4ner run with fusion.slm {kind: onnx} (CLI)', () => {
  let dir: string;
  let llm: ScriptedServer;
  const lambda = 0.3;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-cli-onnx-'));
    const vocab = [
      ...new Set(GOLD.flatMap((d) => d.text.split(' '))),
      'Black',
      '##burn',
      'Lo',
      '##pez',
    ].filter((w) => w !== 'Blackburn' && w !== 'Lopez');
    await writeModelFolder(path.join(dir, 'models/bert-ner'), {
      tokenizer: wordPieceTokenizer(vocab),
      labels: LABELS,
      // Sharp distributions and little context noise: only Acme is unsure.
      gain: 3,
      std: 0.05,
      tokenLabels: {
        Peter: 'B-PER',
        Black: 'I-PER',
        Maria: 'B-PER',
        Lo: 'I-PER',
        Paris: 'B-LOC',
        Berlin: 'B-LOC',
        Madrid: 'B-LOC',
        // The model is unsure about Acme and leans to O.
        Acme: { O: 0.52, 'B-ORG': 0.48 },
      },
    });
    writeFileSync(path.join(dir, 'input.jsonl'), jsonl(GOLD.map((d) => ({ id: d.id, text: d.text }))));
    // The fusion LLM finds Acme but calls Paris an ORG (an LLM's typical slip).
    const byText = new Map(GOLD.map((d) => [d.text, d]));
    llm = await startScriptedServer({
      chat: (req) => {
        const text = req.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
        const d = byText.get(text);
        if (!d) return { status: 400, errorBody: { error: { message: 'unknown sentence' } } };
        const answer = d.entities.map((e) => (e.text === 'Paris' ? { ...e, type: 'ORG' } : e));
        return { content: markInline(d.text, answer), logprobs: 'auto' };
      },
    });
  });
  after(async () => {
    await llm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('no models: the SLM alone tags every document, as loadSlm predicts, and says so', async () => {
    writeFileSync(path.join(dir, 'slm.yaml'), 'fusion:\n  slm: {kind: onnx, path: ./models/bert-ner/}\n');
    const out = path.join(dir, 'out-slm.jsonl');
    const r = await el4ner(['run', '--config', 'slm.yaml', '--input', 'input.jsonl', '--output', out], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /no LLM configured: tagging with the supervised ONNX token classifier alone \(.*bert-ner/,
    );
    const rows = readRows(out);
    assert.deepEqual(
      rows.map((d) => d.id),
      ['1', '2', '3'],
    );
    assert.deepEqual(rows.map(spans), [
      ['Peter Blackburn/PER', 'Paris/LOC'],
      ['Berlin/LOC'],
      ['Maria Lopez/PER', 'Peter Blackburn/PER', 'Madrid/LOC'],
    ]);
    const slm = await loadSlm({ kind: 'onnx', path: path.join(dir, 'models/bert-ner') });
    for (const [i, d] of GOLD.entries()) {
      const p = await slm.predict({ id: d.id, text: d.text });
      assert.deepEqual(
        rows[i].entities.map((e) => [e.start, e.end, e.type, e.score]),
        p.entities.map((e) => [e.start, e.end, e.type, e.score]),
      );
    }
    await slm.close();
  });

  it('tag-slm takes the folder too, with per-word marginals that sum to 1', async () => {
    const r = await el4ner(
      ['tag-slm', '--model', 'models/bert-ner', '--input', 'input.jsonl', '--marginals'],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout
      .split('\n')
      .filter(Boolean)
      .map(
        (l) => JSON.parse(l) as NerDocument & { meta: { slm: { tags: string[]; marginals: number[][] } } },
      );
    assert.deepEqual(rows.map(spans)[0], ['Peter Blackburn/PER', 'Paris/LOC']);
    for (const row of rows) {
      assert.equal(row.meta.slm.tags.length, row.meta.slm.marginals.length);
      for (const m of row.meta.slm.marginals) assert.ok(Math.abs(m.reduce((a, b) => a + b, 0) - 1) < 1e-3);
    }
  });

  it('fusion with a scripted LLM: the LLM decides where the SLM is unsure (Acme), not where it is sure (Paris)', async () => {
    // The premise, from the SLM's own marginals: Acme's confidence is below lambda e^P, Paris's above.
    const slm = await loadSlm({ kind: 'onnx', path: path.join(dir, 'models/bert-ner') });
    const words = GOLD[0].text.split(' ');
    const { marginals } = await slm.tagTokens(words);
    const s = (w: string) => slmConfidence(marginals[words.indexOf(w)]);
    const sl = llmScore(lambda, Math.exp(-0.01 * 1));
    assert.ok(
      s('Acme') < sl && s('Paris') > llmScore(lambda, 1),
      `S_S Acme ${s('Acme')} Paris ${s('Paris')}`,
    );
    await slm.close();

    writeFileSync(
      path.join(dir, 'fusion.json'),
      JSON.stringify({
        models: [
          {
            name: 'tagger',
            engine: 'openai',
            baseUrl: llm.url,
            model: 'tagger',
            server: 'vllm',
            maxAttempts: 1,
          },
        ],
        fusion: { slm: { kind: 'onnx', path: 'models/bert-ner', batchSize: 4 }, llm: 'tagger', lambda },
      }),
    );
    const out = path.join(dir, 'out-fusion.jsonl');
    const r = await el4ner(
      ['run', '--config', 'fusion.json', '--input', 'input.jsonl', '--output', out, '--no-cache'],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /fusion: ONNX token classifier .*bert-ner \+ LLM tagger, lambda 0\.3/);
    assert.deepEqual(readRows(out).map(spans), [
      ['Peter Blackburn/PER', 'Acme/ORG', 'Paris/LOC'],
      ['Acme/ORG', 'Berlin/LOC'],
      ['Maria Lopez/PER', 'Peter Blackburn/PER', 'Madrid/LOC'],
    ]);
  });

  it('fusion.voter: true: the ONNX model votes in the EL4NER ensemble and adds what the backbones miss', async () => {
    // Both backbones overlook people; everything else they answer from gold.
    const noPeople = {
      extract: (gold: readonly Entity[]) => gold.filter((e) => e.type !== 'PER').map((e) => e.text),
    };
    const oracle = await startOracleServer(GOLD, { a: noPeople, b: noPeople });
    try {
      const config = (voter: boolean) =>
        JSON.stringify({
          models: ['a', 'b'].map((name) => ({
            name,
            engine: 'openai',
            baseUrl: oracle.url,
            model: name,
            maxAttempts: 1,
          })),
          labels: ['LOC', 'ORG', 'PER'],
          retrieval: { mode: 'none' },
          fusion: { slm: { kind: 'onnx', path: './models/bert-ner' }, voter },
        });
      writeFileSync(path.join(dir, 'voter.json'), config(true));
      writeFileSync(path.join(dir, 'no-voter.json'), config(false));
      const run = async (cfg: string) => {
        const out = path.join(dir, `out-${cfg}l`);
        const r = await el4ner(
          ['run', '--config', cfg, '--input', 'input.jsonl', '--output', out, '--no-cache'],
          dir,
        );
        assert.equal(r.code, 0, r.stderr);
        return readRows(out);
      };
      const without = await run('no-voter.json');
      assert.deepEqual(without.map(spans), [
        ['Acme/ORG', 'Paris/LOC'],
        ['Acme/ORG', 'Berlin/LOC'],
        ['Madrid/LOC'],
      ]);
      const withVoter = await run('voter.json');
      assert.deepEqual(withVoter.map(spans), GOLD.map(spans));
      const people = withVoter.flatMap((d) => d.entities).filter((e) => e.type === 'PER');
      assert.ok(people.every((e) => e.sources?.some((x) => x.model === 'onnx' && x.stage === 'slm')));
    } finally {
      await oracle.close();
    }
  });
});

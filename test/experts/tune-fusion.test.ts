/**
 * `tune` in fusion mode (fusion.llm without fusion.voter): lambda is chosen on the dev sample from
 * one LLM answer per sentence, within the budget. Real CRF (trained on a little CoNLL-2003) and a
 * scripted LLM over HTTP that echoes the gold entities inline.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { createEngines } from '../../src/engines/registry.js';
import { CallBudget } from '../../src/experts/budget.js';
import { applySettingsRaw, type TuneOptions, tune } from '../../src/experts/tune.js';
import { markInline } from '../../src/fusion/inline-tagging.js';
import { trainCrf } from '../../src/slm/tagger.js';
import { type ScriptedServer, startScriptedServer } from '../support/scripted-server.js';
import { dataDir, openaiModel, readJsonl } from './helpers.js';

const dev = readJsonl(path.join(dataDir, 'conll2003/dev.jsonl')).slice(0, 10);

describe('el4ner tune: fusion lambda', () => {
  let server: ScriptedServer;
  let dir: string;
  let crfFile: string;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'el4ner-tune-fusion-'));
    crfFile = path.join(dir, 'crf.model');
    const crf = await trainCrf(readJsonl(path.join(dataDir, 'conll2003/train.jsonl')).slice(0, 100), {
      maxIterations: 20,
    });
    await crf.save(crfFile);
    const byText = new Map(dev.map((d) => [d.text, d]));
    server = await startScriptedServer({
      chat: (req) => {
        const text = req.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
        const d = byText.get(text);
        if (!d) return { status: 400, errorBody: { error: { message: 'unknown sentence' } } };
        return { content: markInline(d.text, d.entities), logprobs: 'auto' };
      },
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const raw = () => ({
    models: [openaiModel(server.url, 'llm')],
    fusion: { slm: crfFile, llm: 'llm', lambda: 1e-9 },
  });

  async function tuneWith(budget: number, progress?: TuneOptions['progress']) {
    const config = parseConfig(raw());
    const engines = await createEngines(config, { noCache: true });
    const before = server.requests.length;
    try {
      const result = await tune({
        config,
        dev,
        budget: new CallBudget(budget, engines.ledger),
        engines: engines.engines,
        ledger: engines.ledger,
        cache: false,
        ...(progress ? { progress } : {}),
      });
      return { result, requests: server.requests.length - before };
    } finally {
      await engines.close();
    }
  }

  it('chooses lambda with one call per dev sentence, never worse than the configured one', async () => {
    const { result, requests } = await tuneWith(10);
    assert.equal(requests, 10);
    assert.equal(result.callsUsed, 10);
    const f = result.fusion!;
    assert.equal(f.status, 'evaluated');
    assert.ok(f.defaultF1 !== null && f.f1 >= f.defaultF1);
    // lambda ~0 is the CRF alone; the LLM here is perfect, so trusting it more helps
    assert.ok(f.f1 > f.defaultF1!, `${f.f1} vs ${f.defaultF1}`);
    assert.equal(f.chosen, f.lambda);
    const out = applySettingsRaw(raw(), result.chosen, f);
    assert.equal(out.fusion.lambda, f.lambda);
    parseConfig(out);
  });

  it("counts the LLM's answers sentence by sentence while it tags the dev sample", async () => {
    const seen: Array<{ label: string; total: number; ticks: number[]; end?: string }> = [];
    const start = server.requests.length;
    await tuneWith(10, async (label, total) => {
      const p = { label, total, ticks: [] as number[], end: undefined as string | undefined };
      seen.push(p);
      return {
        tick: () => p.ticks.push(server.requests.length - start),
        stop: (word = 'done') => {
          p.end ??= word;
        },
      };
    });
    assert.equal(seen.length, 1);
    assert.deepEqual(
      { label: seen[0].label, total: seen[0].total, end: seen[0].end },
      { label: 'fusion: LLM answers', total: 10, end: 'done' },
    );
    // one tick per sentence, each after that sentence's answer and before the next one's
    assert.deepEqual(
      seen[0].ticks,
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
  });

  it('does not call the LLM when the dev sample does not fit the budget', async () => {
    const { result, requests } = await tuneWith(9);
    assert.equal(requests, 0);
    assert.equal(result.fusion, undefined);
    assert.match(result.notes.join('\n'), /not tuned/);
  });
});

/**
 * The EL4NER replay harness: real CRF taggers (test/support/replay-systems.ts, trained once into
 * .el4ner/replay/) answer the pipeline's prompts over real HTTP. Each system alone reproduces its
 * own predictions exactly through the pipeline, so an ensemble rule measured on the harness is
 * measured on the systems' real, correlated errors and nothing else.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { alignTokens } from '../../src/core/tokenize.js';
import { classifyPrompt } from '../../src/el4ner/stages/classify.js';
import { extractPrompt } from '../../src/el4ner/stages/extract.js';
import { jointPrompt } from '../../src/el4ner/stages/joint.js';
import { verifyPrompt } from '../../src/el4ner/stages/verify.js';
import { createEngines } from '../../src/engines/registry.js';
import { CallBudget, cachePeek } from '../../src/experts/budget.js';
import { tune } from '../../src/experts/tune.js';
import { readJsonlDocuments, strictMicro } from '../../src/slm/data.js';
import { CrfTagger } from '../../src/slm/tagger.js';
import {
  replayAnswer,
  replayModels,
  startEl4nerReplayServer,
  systemEntitiesByText,
} from '../support/el4ner-replay-server.js';
import { pipelineFor } from '../support/method.js';
import {
  ensureSystems,
  predictionEntities,
  type ReplaySystem,
  sharedData,
} from '../support/replay-systems.js';
import type { ScriptedServer } from '../support/scripted-server.js';

const N = 250;

describe('EL4NER replay harness (WNUT-17 dev)', () => {
  let systems: ReplaySystem[];
  let server: ScriptedServer;
  let dev: Awaited<ReturnType<typeof readJsonlDocuments>>;
  before(async () => {
    systems = (await ensureSystems('wnut17')).slice(0, 3);
    server = await startEl4nerReplayServer(systems, { chatty: [systems[1].name] });
    dev = (await readJsonlDocuments(`${sharedData}/wnut17/dev.jsonl`)).slice(0, N);
  });
  after(async () => {
    await server?.close();
  });

  const configFor = (names: string[], extra: Record<string, unknown> = {}) =>
    parseConfig({
      models: replayModels(systems, server.url, { maxAttempts: 1 }),
      backbones: names,
      labels: ['corporation', 'creative-work', 'group', 'location', 'person', 'product'],
      cache: { enabled: false },
      ...extra,
    });

  it('each system alone reproduces its own score exactly through the pipeline (one of them answering chattily)', async () => {
    for (const s of systems) {
      const own = strictMicro(
        dev,
        s.predictions.dev.slice(0, N).map((p, i) => ({ ...dev[i], entities: predictionEntities(p) })),
      );
      const p = await pipelineFor({ config: configFor([s.name], { stages: { verification: false } }) });
      try {
        const r = (await p.evaluate(dev)).final.micro;
        assert.deepEqual([r.tp, r.fp, r.fn], [own.tp, own.fp, own.fn], s.name);
      } finally {
        await p.close();
      }
    }
  });

  it('soft votes: asked for logprobs, a system types each span with its CRF span probabilities, read back exactly', async () => {
    // One voter, entity-then-type: an entity's score is the voter's probability of its type, so
    // every score must equal the system's own span probability (server -> wire -> token
    // logprobs -> vote); the kept entities are the system's own (threshold 0 keeps every union span).
    const s = systems[0];
    const tagger = await CrfTagger.load(s.modelFile);
    const docs = dev.slice(0, 80);
    const p = await pipelineFor({
      config: configFor([s.name], { stages: { verification: false }, decision: { votes: 'soft' } }),
    });
    try {
      const out = await p.extract(docs);
      let checked = 0;
      out.forEach((d, i) => {
        const tokens = s.predictions.dev[i].tokens;
        const aligned = alignTokens(d.text, tokens, { allowGaps: true });
        assert.deepEqual(
          d.entities.map((e) => [e.start, e.end]),
          predictionEntities(s.predictions.dev[i]).map((e) => [e.start, e.end]),
        );
        for (const e of d.entities) {
          const span = {
            start: aligned.findIndex((t) => t.start === e.start),
            end: aligned.findIndex((t) => t.end === e.end) + 1,
          };
          const [probs] = tagger.spanProbabilities(tokens, [span]);
          assert.ok(Math.abs(e.score! - probs[e.type]) < 1e-6, `${e.text}: ${e.score} vs ${probs[e.type]}`);
          checked++;
        }
      });
      assert.ok(checked >= 20, `only ${checked} entities checked`);
    } finally {
      await p.close();
    }
  });

  it('tune tries soft votes when the classifiers send logprobs, and counts only the new classification calls for them', async () => {
    const docs = dev.slice(0, 16);
    // from hard votes, so the soft step's classification calls are new and counted
    const config = configFor(
      systems.map((s) => s.name),
      { cache: { enabled: true }, decision: { votes: 'hard' } },
    );
    const dir = mkdtempSync(join(tmpdir(), 'el4ner-tune-soft-'));
    const engines = await createEngines(config, { cachePath: join(dir, 'responses.sqlite') });
    try {
      const result = await tune({
        config,
        dev: docs,
        budget: new CallBudget(100_000, engines.ledger),
        engines: engines.engines,
        ledger: engines.ledger,
        cache: true,
        isCached: cachePeek(config, engines.cache, engines.engines),
        folds: 1,
        kValues: [],
      });
      const soft = result.candidates.filter((c) => c.step === 'soft-votes');
      // the first soft candidate probes; 9 more thresholds, then the policies of the best
      assert.ok(soft.length >= 10, `${soft.length} soft-vote candidates`);
      assert.ok(soft.every((c) => c.status === 'evaluated' && c.settings.votes === 'soft'));
      // over the hard run's cached answers only the classification calls are new: 3 a sentence at most
      const part = result.split.choose;
      assert.equal(soft[0].estimate, 3 * part);
      assert.ok(soft[0].calls > 0 && soft[0].calls <= soft[0].estimate, `${soft[0].calls} calls`);
      assert.ok(!result.notes.some((n) => n.startsWith('soft votes not tried')));
    } finally {
      await engines.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers as the system: its spans, its type or none, yes only for its own type', () => {
    const s = systems[0];
    const byText = systemEntitiesByText(s, ['dev']);
    const sentence = s.predictions.dev.find((p) => predictionEntities(p).length > 0)!;
    const ents = predictionEntities(sentence);
    const labels = ['corporation', 'creative-work', 'group', 'location', 'person', 'product'];
    const ctx = { labels, demos: [] };
    const ask = (prompt: {
      messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
      jsonSchema: { name: string };
    }) =>
      replayAnswer(byText, prompt.messages, prompt.jsonSchema.name) as Record<
        string,
        Array<Record<string, unknown>>
      >;
    const spans = ask(extractPrompt(ctx, sentence.text)).spans;
    assert.equal(spans.length, ents.length);
    const notASpan = { start: 0, end: 0, text: 'not a span at all' };
    const types = ask(classifyPrompt(ctx, sentence.text, [ents[0], notASpan]));
    assert.deepEqual(
      types.answers.map((a) => a.type),
      [ents[0].type, 'none'],
    );
    const other = ents[0].type === 'person' ? 'location' : 'person';
    const verdicts = ask(verifyPrompt(ctx, sentence.text, [ents[0], { ...ents[0], type: other }]));
    assert.deepEqual(
      verdicts.answers.map((a) => a.answer),
      ['yes', 'no'],
    );
    // a chunk packing two sentences gets the entities of both, shifted
    const second = s.predictions.dev.filter((p) => predictionEntities(p).length > 0)[1];
    const packed = ask(jointPrompt(ctx, `${sentence.text} ${second.text}`)).entities;
    assert.equal(packed.length, ents.length + predictionEntities(second).length);
  });

  it('types each mention of a repeated string as the system typed that mention', () => {
    // a tagger's answer from CoNLL-2003 test: the same word, two mentions, two types
    const text = 'Newmont said it wants a deal with Santa Fe , Newmont said .';
    const at = (w: string, from = 0) => ({
      start: text.indexOf(w, from),
      end: text.indexOf(w, from) + w.length,
      text: w,
    });
    const first = { ...at('Newmont'), type: 'ORG' };
    const second = { ...at('Newmont', 1), type: 'PER' };
    const byText = new Map([[text, [first, { ...at('Santa Fe'), type: 'LOC' }, second]]]);
    const ctx = { labels: ['LOC', 'MISC', 'ORG', 'PER'], demos: [] };
    const ask = (prompt: ReturnType<typeof classifyPrompt>) =>
      replayAnswer(byText, prompt.messages, prompt.jsonSchema!.name) as {
        answers: Array<Record<string, unknown>>;
      };
    const types = ask(classifyPrompt(ctx, text, [second, first]));
    assert.deepEqual(
      types.answers.map((a) => a.type),
      ['PER', 'ORG'],
    );
    const verdicts = ask(verifyPrompt(ctx, text, [{ ...second, type: 'ORG' }, first]));
    assert.deepEqual(
      verdicts.answers.map((a) => a.answer),
      ['no', 'yes'],
    );
  });
});

/**
 * The commands that score a method (tune, select, ablate; eval in run-eval-fusion.test.ts) when a
 * model's answers are lost: what they write is still written, stderr says whose scores were
 * degraded, and the exit code is `el4ner run`'s 8. The real CLI over a scripted OpenAI-compatible
 * server whose model `b` finds the spans but answers 500 to every other step.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cleanSample, dataDir, openaiModel, oracleHandler, readJsonl } from '../experts/helpers.js';
import { el4nerAsync, tmpDir } from '../support/cli.js';
import { schemaName } from '../support/oracle-server.js';
import { type ScriptedServer, scriptByModel, startScriptedServer } from '../support/scripted-server.js';

describe('tune, select and ablate on degraded documents: said on stderr, exit code 8', () => {
  const docs = cleanSample(readJsonl(join(dataDir, 'conll2003/dev.jsonl')), 6);
  let server: ScriptedServer;
  let dir: string;
  let sample: string;
  const config = (name: string, extra: Record<string, unknown> = {}) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        // no circuit breaker: b is asked (and fails) for every document
        models: ['a', 'b'].map((n) => ({ ...openaiModel(server.url, n), circuitBreaker: { failures: 0 } })),
        labels: ['LOC', 'MISC', 'ORG', 'PER'],
        cache: { enabled: false },
        ...extra,
      }),
    );
    return file;
  };
  const degradedLine = (what: string) =>
    new RegExp(
      `^el4ner: ${what}: [1-6] of 6 document\\(s\\) degraded \\(.*\\): the score is that of the degraded output`,
      'm',
    );

  before(async () => {
    const oracle = oracleHandler(docs, {});
    server = await startScriptedServer({
      chat: scriptByModel({
        a: oracle,
        b: (req) =>
          schemaName(req) === 'spans'
            ? oracle(req)
            : { status: 500, errorBody: { error: { message: 'scripted outage' } } },
      }),
    });
    dir = tmpDir('el4ner-degraded-scores-');
    sample = join(dir, 'sample.jsonl');
    writeFileSync(sample, docs.map((d) => `${JSON.stringify(d)}\n`).join(''));
  });
  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('ablate: the tables are written, the row whose documents were degraded is named', async () => {
    const out = join(dir, 'ablation');
    const r = await el4nerAsync([
      'ablate',
      '--config',
      config('ablate'),
      '--test',
      sample,
      '--rows',
      'full',
      '--out',
      out,
    ]);
    assert.equal(r.code, 8, r.stderr);
    assert.ok(existsSync(`${out}.md`) && existsSync(`${out}.json`));
    assert.match(r.stdout, /full/);
    assert.match(r.stderr, degradedLine('row full'));
  });

  test('select: the selection is written, the expert whose F1 was degraded is named', async () => {
    const file = config('select', {
      experts: ['a', 'b'].map((m) => ({
        name: `${m}-expert`,
        model: m,
        domain: { samples: 'sample.jsonl' },
      })),
    });
    const out = join(dir, 'selection.json');
    const r = await el4nerAsync([
      'select',
      '--config',
      file,
      '--target',
      sample,
      '--labelled',
      '6',
      '--out',
      out,
    ]);
    assert.equal(r.code, 8, r.stderr);
    assert.ok(existsSync(out));
    assert.match(r.stderr, degradedLine('expert b-expert'));
    assert.doesNotMatch(r.stderr, /expert a-expert: .* degraded/);
  });

  test('tune: the tuned config is written, the degraded candidate run is named', async () => {
    const out = join(dir, 'tuned.yaml');
    const r = await el4nerAsync([
      'tune',
      '--config',
      config('tune'),
      '--dev',
      sample,
      '--sample',
      '6',
      '--budget',
      '35',
      '--out',
      out,
    ]);
    assert.equal(r.code, 8, r.stderr);
    assert.ok(existsSync(out));
    assert.match(
      r.stderr,
      /^el4ner: default: .*: strict F1 [\d.]+, \d+ calls, [1-6] of \d+ sentence\(s\) degraded/m,
    );
    assert.match(r.stderr, degradedLine('candidate 1 \\(default\\)'));
  });
});

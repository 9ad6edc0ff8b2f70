import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLlmPreExtractor } from '../../src/el4ner/stages/retrieve.js';
import { type Engine, emptyUsage } from '../../src/engines/types.js';
import type { ScriptedRequest } from '../support/scripted-server.js';
import { startScriptedServer } from '../support/scripted-server.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(repoRoot, 'bin/el4ner.js');

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [cli, ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const POOL = [
  {
    id: '1',
    text: 'Angela Merkel visited Paris .',
    entities: [
      { start: 0, end: 13, type: 'PER', text: 'Angela Merkel' },
      { start: 22, end: 27, type: 'LOC', text: 'Paris' },
    ],
  },
  { id: '2', text: 'It rained all day .', entities: [] },
  {
    id: '3',
    text: 'Siemens opened a plant in Berlin .',
    entities: [
      { start: 0, end: 7, type: 'ORG', text: 'Siemens' },
      { start: 26, end: 32, type: 'LOC', text: 'Berlin' },
    ],
  },
];

let dir: string;
let poolFile: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'el4ner-index-cli-'));
  poolFile = path.join(dir, 'pool.jsonl');
  await writeFile(poolFile, `${POOL.map((d) => JSON.stringify(d)).join('\n')}\n`);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A scripted model's pre-extraction answer: every capitalised word of the sentence is a span. */
function capitalisedSpans(req: ScriptedRequest) {
  const sentence = /Sentence: (.*)\n/.exec(req.messages.at(-1)?.content ?? '')?.[1] ?? '';
  return {
    json: {
      spans: sentence
        .split(' ')
        .filter((w) => /^[A-Z]/.test(w))
        .map((text) => ({ text })),
    },
  };
}

describe('el4ner index', () => {
  it('builds with gold spans and the lexical embedder, then reuses the index', async () => {
    const out = path.join(dir, 'idx-gold');
    const a = await run(['index', '--pool', poolFile, '--out', out, '--dim', '128']);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /built \(no index yet\)/);
    assert.match(a.stdout, /sentences 3 \(2 with spans\), spans 4, dim 128/);
    const b = await run(['index', '--pool', poolFile, '--out', out, '--dim', '128', '--json']);
    assert.equal(b.code, 0, b.stderr);
    const s = JSON.parse(b.stdout);
    assert.equal(s.status, 'up to date');
    assert.equal(s.spans, 4);
    const c = await run([
      'index',
      '--pool',
      poolFile,
      '--out',
      out,
      '--dim',
      '128',
      '--weights',
      'paper-rank',
      '--json',
    ]);
    assert.equal(JSON.parse(c.stdout).reason, 'settings changed');
    const manifest = JSON.parse(await readFile(path.join(out, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest.settings.weights, { PROPN: 1, NOUN: 2, PRON: 4, other: 1 });
  });

  it('shows its progress on stderr when that is not a terminal: a line per stage', async () => {
    const out = path.join(dir, 'idx-progress');
    const a = await run(['index', '--pool', poolFile, '--out', out, '--dim', '64']);
    assert.equal(a.code, 0, a.stderr);
    const lines = a.stderr.trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.replace(/ \(100\.0%\) [\d.]+\/s ETA 0s$/, '')),
      ['spans: 3/3', 'embed-spans: 4/4', 'embed-sentences: 3/3'],
      a.stderr,
    );
    assert.match(a.stdout, /^built \(no index yet\)/);
    // --json: stdout is the summary, stderr stays quiet
    const b = await run(['index', '--pool', poolFile, '--out', out, '--dim', '64', '--force', '--json']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stderr, '');
    assert.equal(JSON.parse(b.stdout).status, 'built');
  });

  it('a brat pool (.txt with its .ann): new annotations are another pool, so the index is rebuilt', async () => {
    const txt = path.join(dir, 'brat-pool.txt');
    await writeFile(txt, 'Angela Merkel visited Paris .\n');
    await writeFile(path.join(dir, 'brat-pool.ann'), 'T1\tPER 0 13\tAngela Merkel\n');
    const out = path.join(dir, 'idx-brat');
    const index = async () => {
      const r = await run(['index', '--pool', txt, '--out', out, '--dim', '64', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout);
      return `${s.status}: ${s.reason}, ${s.spans} spans`;
    };
    assert.equal(await index(), 'built: no index yet, 1 spans');
    assert.equal(await index(), 'up to date: up to date, 1 spans');
    await writeFile(path.join(dir, 'brat-pool.ann'), 'T1\tPER 0 13\tAngela Merkel\nT2\tLOC 22 27\tParis\n');
    assert.equal(await index(), 'built: pool changed, 2 spans');
  });

  it('rejects bad options with exit code 2', async () => {
    const a = await run(['index', '--pool', poolFile, '--out', path.join(dir, 'x'), '--spans', 'maybe']);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /--spans must be gold or llm/);
    const b = await run(['index', '--pool', poolFile, '--out', path.join(dir, 'x'), '--weights', 'heavy']);
    assert.equal(b.code, 2);
    const c = await run(['index', '--pool', poolFile, '--out', path.join(dir, 'x'), '--spans', 'llm']);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /needs --config/);
    const d = await run(['index', '--pool', path.join(dir, 'missing.jsonl'), '--out', path.join(dir, 'x')]);
    assert.equal(d.code, 2);
  });

  it('refuses a pool with nothing to show (empty, blank texts, no gold entity) with its name, exit 2, no index', async () => {
    const cases: [string, string, RegExp][] = [
      ['empty.jsonl', '', /no sentences to index \(the pool is empty or every text is blank\)/],
      ['blank.jsonl', '{"text": "   "}\n', /no sentences to index/],
      [
        'unlabelled.jsonl',
        `${JSON.stringify({ text: 'Angela Merkel visited Paris .' })}\n`,
        /no entities in the pool: demonstrations show gold entities, so the pool must be labelled/,
      ],
    ];
    for (const [name, content, message] of cases) {
      const pool = path.join(dir, name);
      await writeFile(pool, content);
      const out = path.join(dir, `idx-${name}`);
      const r = await run(['index', '--pool', pool, '--out', out]);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(`el4ner: ${pool}: `) && r.stderr.split('\n').length === 2, r.stderr);
      assert.match(r.stderr, message);
      assert.deepEqual(await readdir(out), [], `${name}: no index written`);
    }
    // a typo in an option creates no folder
    const typo = path.join(dir, 'idx-typo');
    const t = await run(['index', '--pool', poolFile, '--out', typo, '--dim', 'big']);
    assert.equal(t.code, 2);
    assert.match(t.stderr, /--dim must be an integer >= 8, got "big"/);
    await assert.rejects(readdir(typo), /ENOENT/);
  });

  it('the approximate index without an embedding model is a config error (exit 2, one line), not a stack trace', async () => {
    const out = path.join(dir, 'idx-approximate');
    const a = await run(['index', '--pool', poolFile, '--out', out, '--approximate']);
    assert.equal(a.code, 2, a.stderr);
    assert.match(
      a.stderr,
      /^el4ner: --approximate is for the dense vectors of an embedding model \(embedding\.model in --config\)/,
    );
    assert.equal(a.stderr.split('\n').length, 2, a.stderr);
    assert.equal(a.stderr.includes('spans:'), false, 'refused before any work');
    await assert.rejects(readdir(out), /ENOENT/);
    // the same setting in a run's config
    const config = path.join(dir, 'approximate.json');
    await writeFile(
      config,
      JSON.stringify({
        labels: ['PER', 'LOC', 'ORG'],
        pool: poolFile,
        models: [{ name: 'a', engine: 'openai', baseUrl: 'http://127.0.0.1:1/v1', model: 'm' }],
        retrieval: { index: { approximate: true } },
      }),
    );
    const input = path.join(dir, 'approximate-in.jsonl');
    await writeFile(input, `${JSON.stringify({ id: 'q', text: 'Merkel visited Berlin .' })}\n`);
    const r = await run([
      'run',
      '--config',
      config,
      '--input',
      input,
      '--output',
      path.join(dir, 'approximate-out.jsonl'),
      '--no-preflight',
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^el4ner: the approximate index is for dense vectors \(retrieval\.index\.approximate, --approximate\): set embedding\.model/m,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('never overwrites or removes what a folder holds besides an index', async () => {
    // a project folder: its own manifest.json, a docs.json, a data-* folder, and the pool itself
    const project = path.join(dir, 'project');
    await mkdir(path.join(project, 'data-raw'), { recursive: true });
    const own = {
      'manifest.json': '{"name": "web app"}\n',
      'docs.json': '{"keep": true}\n',
      'data-raw/notes.txt': 'field notes\n',
    };
    for (const [f, text] of Object.entries(own)) await writeFile(path.join(project, f), text);
    const kept = async () => {
      for (const [f, text] of Object.entries(own))
        assert.equal(await readFile(path.join(project, f), 'utf8'), text, f);
    };
    for (const extra of [[], ['--force']]) {
      const a = await run(['index', '--pool', poolFile, '--out', project, ...extra]);
      assert.equal(a.code, 2, a.stderr);
      assert.match(a.stderr, /project: not an el4ner retrieval index \(manifest\.json of another format\)/);
      assert.doesNotMatch(a.stderr, /\n\s+at /);
      await kept();
    }
    // without the foreign manifest: docs.json would be removed as a file of the old index layout
    await rm(path.join(project, 'manifest.json'));
    const b = await run(['index', '--pool', poolFile, '--out', project]);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /project: holds docs\.json but no el4ner retrieval index/);
    // a data-* folder that is not the index's own is left alone when an index is built beside it
    await rm(path.join(project, 'docs.json'));
    const c = await run(['index', '--pool', poolFile, '--out', project, '--dim', '64']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(await readFile(path.join(project, 'data-raw/notes.txt'), 'utf8'), 'field notes\n');
    const d = await run(['index', '--pool', poolFile, '--out', project, '--dim', '32']);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /built \(settings changed\)/);
    assert.equal(await readFile(path.join(project, 'data-raw/notes.txt'), 'utf8'), 'field notes\n');
  });

  it('uses LLM pre-extraction and the embedding model of the config', async () => {
    const chat = capitalisedSpans;
    const embed = (input: string[]) => input.map((t) => [t.length, (t.match(/[aeiou]/g) ?? []).length, 1]);
    const srv = await startScriptedServer({ chat, embed });
    try {
      const cfg = path.join(dir, 'config.json');
      await writeFile(
        cfg,
        JSON.stringify({
          models: [
            { name: 'm1', engine: 'openai', baseUrl: srv.url, model: 'm1', maxAttempts: 1 },
            {
              name: 'emb',
              engine: 'openai',
              baseUrl: srv.url,
              model: 'emb',
              embeddingModel: 'emb',
              maxAttempts: 1,
            },
          ],
          backbones: ['m1'],
          embedding: { model: 'emb' },
          cache: { enabled: false },
        }),
      );
      const out = path.join(dir, 'idx-llm');
      const r = await run([
        'index',
        '--config',
        cfg,
        '--pool',
        poolFile,
        '--out',
        out,
        '--spans',
        'llm',
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout);
      assert.equal(s.spansMode, 'llm');
      assert.equal(s.embedder, 'emb');
      assert.match(s.embedderIdentity, /^engine:/);
      assert.equal(s.dim, 3);
      // Angela, Merkel, Paris / It / Siemens, Berlin
      assert.equal(s.spans, 6);
      assert.ok(srv.requests.some((q) => q.path.endsWith('/embeddings')));
      assert.equal(srv.requests.filter((q) => q.path.endsWith('/chat/completions')).length, 3);
    } finally {
      await srv.close();
    }
  });

  it('--spans llm while no model answers: exit 4 and no index, so the next run does not reuse an empty one', async () => {
    let up = false;
    const chat = (req: ScriptedRequest) => {
      if (!up) return { status: 503, errorBody: { error: { message: 'model loading' } } };
      return capitalisedSpans(req);
    };
    const srv = await startScriptedServer({ chat });
    try {
      const cfg = path.join(dir, 'config-outage.json');
      await writeFile(
        cfg,
        JSON.stringify({
          models: [{ name: 'm1', engine: 'openai', baseUrl: srv.url, model: 'm1', maxAttempts: 1 }],
          cache: { enabled: false },
        }),
      );
      const out = path.join(dir, 'idx-outage');
      const args = ['index', '--config', cfg, '--pool', poolFile, '--out', out, '--spans', 'llm'];
      const down = await run(args);
      assert.equal(down.code, 4, down.stderr);
      assert.match(
        down.stderr,
        /^el4ner: no model gave a usable pre-extraction answer for pool sentence "1" \(model m1 failed .*HTTP 503/m,
      );
      assert.doesNotMatch(down.stderr, /\n\s+at /);
      assert.deepEqual(await readdir(out), []);
      up = true;
      const back = await run(args);
      assert.equal(back.code, 0, back.stderr);
      assert.match(back.stdout, /^built \(no index yet\)/);
      assert.match(back.stdout, /sentences 3 \(3 with spans\), spans 6/);
    } finally {
      await srv.close();
    }
  });
  it('--spans llm: another label description is another pre-extraction prompt, so the index is rebuilt', async () => {
    const chat = capitalisedSpans;
    const srv = await startScriptedServer({ chat });
    try {
      const cfg = path.join(dir, 'config-described.json');
      const config = (per: string) =>
        writeFile(
          cfg,
          JSON.stringify({
            models: [{ name: 'm1', engine: 'openai', baseUrl: srv.url, model: 'm1', maxAttempts: 1 }],
            labels: ['LOC', 'ORG', 'PER'],
            labelDescriptions: { PER: per },
            cache: { enabled: false },
          }),
        );
      const out = path.join(dir, 'idx-described');
      const args = ['index', '--config', cfg, '--pool', poolFile, '--out', out, '--spans', 'llm', '--json'];
      await config('people');
      const status = async () => {
        const r = await run(args);
        assert.equal(r.code, 0, r.stderr);
        const s = JSON.parse(r.stdout);
        return `${s.status}: ${s.reason}`;
      };
      assert.equal(await status(), 'built: no index yet');
      assert.equal(await status(), 'up to date: up to date');
      assert.ok(srv.requests.some((q) => JSON.stringify(q.messages).includes('PER: people')));
      await config('people, real or fictional');
      assert.equal(await status(), 'built: settings changed');
    } finally {
      await srv.close();
    }
  });
});

describe('createLlmPreExtractor', () => {
  it('grounds and unions the spans of several models and counts failed calls', async () => {
    const answer = (spans: string[]) => ({
      text: JSON.stringify({ spans: spans.map((text) => ({ text })) }),
      usage: emptyUsage(),
      latencyMs: 0,
    });
    const engine = (name: string, chat: Engine['chat']): Engine => ({
      name,
      identity: name,
      chat,
      embed: () => Promise.reject(new Error('no embeddings')),
      close: async () => {},
    });
    const pre = createLlmPreExtractor(
      [
        engine('a', async () => answer(['Paris', 'Merkel', 'Nowhere'])),
        engine('b', async () => answer(['Angela Merkel', 'Paris'])),
        engine('c', async () => {
          throw new Error('down');
        }),
      ],
      ['PER', 'LOC'],
    );
    const text = 'Angela Merkel visited Paris .';
    const spans = await pre(text);
    assert.deepEqual(
      spans.map((s) => s.text),
      ['Angela Merkel', 'Merkel', 'Paris'],
    );
    for (const s of spans) assert.equal(text.slice(s.start, s.end), s.text);
    assert.deepEqual(
      pre.failures.list().map((f) => [f.model, f.count]),
      [['c', 1]],
    );
    assert.match(pre.identity, /^llm-pre-extract:v2:a\+b\+c:LOC,PER$/);
  });
});

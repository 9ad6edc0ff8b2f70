import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readJsonlDocuments } from '../../src/slm/data.js';
import { CrfTagger } from '../../src/slm/tagger.js';
import { literal } from '../support/cli.js';
import { assertRefusals } from '../support/refusals.js';

const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..');
const bin = join(repoRoot, 'bin', 'el4ner.js');
const conllTrain = resolve(repoRoot, '../shared/data/conll2003/train.jsonl');
/** Runs the CLI (`el4ner ...args`) and waits for it. */
const el4ner = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

/** `el4ner train-slm ...args`, sent SIGINT once its stderr matches `when`: its exit code and stderr. */
function trainSlmInterrupted(args: string[], when: RegExp): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, 'train-slm', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      if (!sent && when.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stderr });
    });
  });
}

/** Runs `body` in a fresh temporary folder (removed after), with the CoNLL-2003 training lines. */
async function inTempDir(body: (dir: string, lines: string[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'el4ner-slm-cli-'));
  try {
    await body(dir, (await readFile(conllTrain, 'utf8')).split('\n').filter(Boolean));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('train-slm writes a model that tag-slm uses; bad model files are input errors', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    const dev = join(dir, 'dev.jsonl');
    await writeFile(pool, `${lines.slice(0, 120).join('\n')}\n`);
    await writeFile(dev, `${lines.slice(120, 160).join('\n')}\n`);
    const model = join(dir, 'model.crf');
    /** train-slm on the pool with the dev file, writing `out`. */
    const trainWithDev = (out: string, ...flags: string[]) =>
      el4ner('train-slm', '--pool', pool, '--dev', dev, '--out', out, ...flags);
    const train = trainWithDev(model, '--max-iter', '12', '--eval-every', '5');
    assert.equal(train.status, 0, train.stderr);
    assert.match(train.stderr, /iter 1 loss [\d.]+/);
    assert.match(train.stderr, /dev strict micro: P [\d.]+ R [\d.]+ F1 [\d.]+/);

    const tag = el4ner('tag-slm', '--model', model, '--input', dev, '--marginals');
    assert.equal(tag.status, 0, tag.stderr);
    const rows = tag.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(rows.length, 40);
    for (const r of rows) {
      for (const e of r.entities) assert.equal(r.text.slice(e.start, e.end), e.text);
      assert.equal(r.meta.slm.marginals.length, r.meta.slm.tags.length);
    }
    // Each document tagged with its context in the input file, as the library's predictAll does.
    const tagger = await CrfTagger.load(model);
    assert.ok(tagger.readsContext);
    const expected = tagger.predictAll(await readJsonlDocuments(dev));
    assert.deepEqual(
      rows.map((r) =>
        r.entities.map((e: { start: number; end: number; type: string }) => [e.start, e.end, e.type]),
      ),
      expected.map((d) => d.entities.map((e) => [e.start, e.end, e.type])),
    );

    const windows = el4ner(
      'train-slm',
      '--pool',
      pool,
      '--out',
      join(dir, 'w.crf'),
      '--document-windows',
      '4,40',
    );
    assert.equal(windows.status, 2);
    assert.match(
      windows.stderr,
      /--document-windows "4,40": document windows must be whole numbers from 1 to 16 \(or none\)/,
    );
    for (const bad of ['a,b', '4,,12']) {
      const r = el4ner('train-slm', '--pool', pool, '--out', join(dir, 'w.crf'), '--document-windows', bad);
      assert.equal(r.status, 2);
      assert.equal(
        r.stderr,
        `el4ner: --document-windows ${JSON.stringify(bad)}: document windows must be whole numbers from 1 to 16 (or none)\n`,
      );
    }

    assert.deepEqual(tagger.lexicons, [], 'no lists unless asked for');
    const lists = el4ner('train-slm', '--pool', pool, '--out', join(dir, 'l.crf'), '--lexicons', 'en-cities');
    assert.equal(lists.status, 2);
    assert.match(lists.stderr, /--lexicons: no lexicon "en-cities" ships with el4ner/);
    const autoNoDev = el4ner('train-slm', '--pool', pool, '--out', join(dir, 'a.crf'), '--lexicons', 'auto');
    assert.equal(autoNoDev.status, 2);
    assert.match(autoNoDev.stderr, /--lexicons auto needs --dev/);
    // auto: trained with and without the lists, the model with the better dev F1 kept and saying so
    const autoModel = join(dir, 'auto.crf');
    const auto = trainWithDev(autoModel, '--max-iter', '6', '--lexicons', 'auto');
    assert.equal(auto.status, 0, auto.stderr);
    const m = /lexicons en-names-places: dev F1 ([\d.]+) with them, ([\d.]+) without; (kept|left out)/.exec(
      auto.stderr,
    );
    assert.ok(m, auto.stderr.slice(-2000));
    const chosen = await CrfTagger.load(autoModel);
    const choice = chosen.training.lexiconChoice as {
      devF1With: number;
      devF1Without: number;
      kept: boolean;
    };
    assert.equal(choice.kept, Number(m[1]) > Number(m[2]));
    assert.equal(choice.kept, m[3] === 'kept');
    assert.equal(chosen.lexicons.length > 0, choice.kept);
    assert.equal(choice.devF1With.toFixed(4), m[1]);

    const bad = el4ner('tag-slm', '--model', pool, '--input', dev);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /not an el4ner CRF model/);
  }));

test('train-slm without --dev holds a share of the pool out to stop on, then trains on all of it', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    await writeFile(pool, `${lines.slice(0, 100).join('\n')}\n`);
    const model = join(dir, 'held.crf');
    const held = el4ner('train-slm', '--pool', pool, '--out', model, '--max-iter', '30', '--eval-every', '3');
    assert.equal(held.status, 0, held.stderr);
    assert.match(held.stderr, /no dev set given: 10 of the 100 training sentences held out to stop on/);
    const m = /retraining on all 100 sentences for (\d+) iterations, O bias (-?[\d.]+)/.exec(held.stderr);
    assert.ok(m, held.stderr.slice(-2000));
    const tagger = await CrfTagger.load(model);
    const h = tagger.training.heldOutDev as {
      sentences: number;
      iterations: number;
      oBias: number;
      share: number;
    };
    assert.equal(h.sentences, 10);
    assert.equal(h.share, 0.1);
    assert.equal(h.iterations, Number(m[1]));
    assert.equal(h.oBias, Number(m[2]));
    // the model itself: every sentence, for the iteration count the held-out run chose
    assert.equal(tagger.training.sentences, 100);
    assert.equal(tagger.training.iterations, h.iterations);
    assert.equal(Number(tagger.training.oBias ?? 0), h.oBias);

    const whole = join(dir, 'whole.crf');
    const budget = el4ner('train-slm', '--pool', pool, '--out', whole, '--max-iter', '8', '--dev-share', '0');
    assert.equal(budget.status, 0, budget.stderr);
    assert.doesNotMatch(budget.stderr, /held out/);
    const all = await CrfTagger.load(whole);
    assert.equal(all.training.heldOutDev, undefined);
    assert.equal(all.training.iterations, 8, 'the whole budget, as before');

    const bad = el4ner('train-slm', '--pool', pool, '--out', whole, '--dev-share', '0.9');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--dev-share must be a number from 0 to 0.5, got "0.9"/);
  }));

test('train-slm --unlabeled learns its text clusters from the given corpus too; bad lines name file and line', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    await writeFile(pool, `${lines.slice(0, 60).join('\n')}\n`);
    const unlabeled = join(dir, 'unlabeled.txt');
    const texts = lines.slice(60, 400).map((l) => JSON.parse(l).text as string);
    // Plain text lines, a JSON line with tokens and one with text.
    await writeFile(
      unlabeled,
      `${texts.join('\n')}\n\n{"tokens": ["Peter", "flew", "to", "Paris"]}\n{"text": "Maria met Peter ."}\n`,
    );
    // The model's folder does not exist yet: train-slm creates it.
    const model = join(dir, 'models', 'model.crf');
    const args = [bin, 'train-slm', '--pool', pool, '--out', model, '--max-iter', '5'];
    const run = spawnSync(process.execPath, [...args, '--unlabeled', unlabeled], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`unlabeled: ${texts.length + 2} sentences`));
    assert.ok((await readFile(model)).length > 0);
    const clustered = (s: string) => Number(/crf: (\d+) words clustered from the training text/.exec(s)?.[1]);
    const alone = spawnSync(process.execPath, args, { encoding: 'utf8' });
    assert.equal(alone.status, 0, alone.stderr);
    assert.ok(
      clustered(run.stderr) > 2 * clustered(alone.stderr),
      `${clustered(run.stderr)} vs ${clustered(alone.stderr)}`,
    );

    const bad = join(dir, 'bad.txt');
    await writeFile(bad, 'a plain line\n{"tokens": [1, 2]}\n');
    const failed = spawnSync(process.execPath, [...args, '--unlabeled', bad], { encoding: 'utf8' });
    assert.equal(failed.status, 2);
    assert.match(failed.stderr, /bad\.txt:2: a JSON line needs "tokens"/);
    const none = spawnSync(process.execPath, [...args, '--clusters', 'none', '--unlabeled', unlabeled], {
      encoding: 'utf8',
    });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--unlabeled needs the text clusters/);
  }));

test('train-slm on a pool with nothing to learn stops with one line naming the file, exit 2', () =>
  inTempDir(async (dir) => {
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    const unlabelled = join(dir, 'unlabelled.jsonl');
    await writeFile(unlabelled, `${JSON.stringify({ id: 'a', text: 'Peter went home .', entities: [] })}\n`);
    assertRefusals(
      (pool) => el4ner('train-slm', '--pool', pool, '--out', join(dir, 'x.crf')),
      [
        [empty, /no sentences to train on/],
        [unlabelled, /no entities to learn from/],
      ],
    );
  }));

test('train-slm with a --dev that is empty or has no entities stops before training, naming the file, exit 2', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    await writeFile(pool, `${lines.slice(0, 40).join('\n')}\n`);
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    // plain text, as a user might pass the unlabelled file by mistake
    const text = join(dir, 'dev.txt');
    await writeFile(text, 'Peter went home .\nThe weather was fine .\n');
    const out = join(dir, 'x.crf');
    assertRefusals(
      (dev) => el4ner('train-slm', '--pool', pool, '--dev', dev, '--out', out, '--max-iter', '3'),
      [
        [empty, /no documents to score on/],
        [text, /no entities in the dev set/],
      ],
      (r) => assert.doesNotMatch(r.stderr, /iter 1 loss/, 'stopped before training'),
    );
  }));

test('train-slm with a --dev of entity types the training data lacks: none in common stops (exit 2), some is a warning', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    await writeFile(pool, `${lines.slice(0, 40).join('\n')}\n`);
    const relabel = (rename: (type: string) => string) =>
      `${lines
        .slice(40, 60)
        .map((l) => {
          const d = JSON.parse(l);
          d.entities = d.entities.map((e: { type: string }) => ({ ...e, type: rename(e.type) }));
          delete d.tags;
          return JSON.stringify(d);
        })
        .join('\n')}\n`;
    const out = join(dir, 'x.crf');
    // another data set's labels (lower case here): dev F1 would be 0 at every iteration
    const other = join(dir, 'other.jsonl');
    await writeFile(
      other,
      relabel((t) => t.toLowerCase()),
    );
    const r = el4ner('train-slm', '--pool', pool, '--dev', other, '--out', out, '--max-iter', '2');
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^el4ner: ${literal(other)}: no entity type of the dev set \\(loc, misc, org, per\\) is in the training data \\(the training data has LOC, MISC, ORG, PER\\)`,
      ),
    );
    assert.doesNotMatch(r.stderr, /iter 1 loss/, 'stopped before training');
    assert.equal(existsSync(out), false);
    // one type renamed: trained, and said
    const some = join(dir, 'some.jsonl');
    await writeFile(
      some,
      relabel((t) => (t === 'MISC' ? 'NORP' : t)),
    );
    const w = el4ner('train-slm', '--pool', pool, '--dev', some, '--out', out, '--max-iter', '2');
    assert.equal(w.status, 0, w.stderr);
    assert.match(
      w.stderr,
      new RegExp(
        `^el4ner: warning: ${literal(some)}: entity type\\(s\\) NORP are not in the training data`,
        'm',
      ),
    );
    assert.ok(existsSync(out));
  }));

test('train-slm with an --unlabeled file that has no sentence stops before training: one line naming the file, exit 2', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    await writeFile(pool, `${lines.slice(0, 40).join('\n')}\n`);
    const empty = join(dir, 'empty.txt');
    await writeFile(empty, '');
    // blank lines and a JSON line whose text has no token: nothing to cluster either
    const blank = join(dir, 'blank.txt');
    await writeFile(blank, '\n   \n{"text": "  "}\n{"tokens": []}\n');
    const out = join(dir, 'x.crf');
    const reason = /no sentences in the unlabeled text/;
    assertRefusals(
      (file) => el4ner('train-slm', '--pool', pool, '--unlabeled', file, '--out', out, '--max-iter', '3'),
      [
        [empty, reason],
        [blank, reason],
      ],
      (r, file) => {
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`${literal(file)}: no sentences in the unlabeled text`));
        assert.doesNotMatch(r.stderr, /iter 1 loss|unlabeled: 0 sentences/, 'stopped before training');
        assert.ok(!existsSync(out), 'no model written');
      },
    );
  }));

test('a model write that fails half-way (here a file size limit) leaves the model that was there whole', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    await writeFile(pool, `${lines.slice(0, 80).join('\n')}\n`);
    const model = join(dir, 'model.crf');
    const first = el4ner(
      'train-slm',
      '--pool',
      pool,
      '--out',
      model,
      '--max-iter',
      '3',
      '--clusters',
      'none',
    );
    assert.equal(first.status, 0, first.stderr);
    const before = await readFile(model);
    assert.ok(before.length > 8 * 1024, `the model (${before.length} bytes) is larger than the limit below`);
    // `ulimit -f 8`: writes past 8 KiB fail with EFBIG, as a full disk fails with ENOSPC
    const limited = spawnSync(
      'bash',
      [
        '-c',
        'ulimit -f 8 && exec "$0" "$@"',
        process.execPath,
        bin,
        'train-slm',
        '--pool',
        pool,
        '--out',
        model,
        '--max-iter',
        '3',
        '--clusters',
        'none',
        '--c2',
        '0.5',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(limited.status, 2, limited.stderr);
    assert.match(limited.stderr, /model\.crf: cannot write: EFBIG/);
    assert.deepEqual(await readFile(model), before);
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(dir), ['model.crf', 'pool.jsonl'], 'no temp file is left');
    await CrfTagger.load(model);
  }));

test('an --out that is one of the files read (the pool, the dev set, the input, the model) is refused before any work; the file stays', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    const dev = join(dir, 'dev.jsonl');
    await writeFile(pool, `${lines.slice(0, 60).join('\n')}\n`);
    await writeFile(dev, `${lines.slice(60, 80).join('\n')}\n`);
    const model = join(dir, 'm.crf');
    const trained = el4ner(
      'train-slm',
      '--pool',
      pool,
      '--out',
      model,
      '--max-iter',
      '2',
      '--dev-share',
      '0',
    );
    assert.equal(trained.status, 0, trained.stderr);
    const before = new Map(
      await Promise.all([pool, dev, model].map(async (f) => [f, await readFile(f)] as const)),
    );
    const cases: [string[], string, string][] = [
      [['train-slm', '--pool', pool, '--out', pool, '--max-iter', '2'], pool, '--pool'],
      [
        ['train-slm', '--pool', pool, '--dev', dev, '--out', join(dir, '.', 'dev.jsonl'), '--max-iter', '2'],
        dev,
        '--dev',
      ],
      [['tag-slm', '--model', model, '--input', dev, '--out', dev], dev, '--input'],
      [['tag-slm', '--model', model, '--input', dev, '--out', model], model, '--model'],
    ];
    for (const [args, file, option] of cases) {
      const r = el4ner(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`^el4ner: .*${literal(file.slice(dir.length))}: is also the ${option} file: `),
      );
      assert.equal(r.stderr.split('\n').length, 2, r.stderr);
      assert.doesNotMatch(r.stderr, /^crf:/m, 'refused before training');
    }
    for (const [f, bytes] of before) assert.deepEqual(await readFile(f), bytes, `${f} is unchanged`);
  }));

test('tag-slm --model with a file that is no CRF says what it is instead, once naming the file: missing, empty, a GGUF, not gzip', () =>
  inTempDir(async (dir) => {
    const input = join(dir, 'in.jsonl');
    await writeFile(input, `${JSON.stringify({ text: 'Peter went to Paris .' })}\n`);
    const empty = join(dir, 'empty.crf');
    await writeFile(empty, '');
    const gguf = resolve(repoRoot, '../shared/fixtures/models/tiny-random-llama.gguf');
    const json = join(dir, 'model.json');
    await writeFile(json, '{"labels": ["PER"]}\n');
    const cases: [string, string][] = [
      [join(dir, 'missing.crf'), 'no such file'],
      [empty, 'not an el4ner CRF model: the file is empty'],
      [
        gguf,
        'not an el4ner CRF model: it is a GGUF model (an LLM: give it under models: with engine llama-cpp); the CRF is the file train-slm writes',
      ],
      [json, 'not an el4ner CRF model: the files train-slm writes are gzip, this one is not'],
    ];
    for (const [model, why] of cases) {
      const r = el4ner('tag-slm', '--model', model, '--input', input);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `el4ner: --model: cannot load the CRF model ${model}: ${why}\n`);
      assert.equal(r.stdout, '');
    }
  }));

test('train-slm says what it is doing before each long silent step: reading, feature extraction, the O bias search', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    const dev = join(dir, 'dev.jsonl');
    await writeFile(pool, `${lines.slice(0, 40).join('\n')}\n`);
    await writeFile(dev, `${lines.slice(40, 60).join('\n')}\n`);
    const r = el4ner(
      'train-slm',
      '--pool',
      pool,
      '--dev',
      dev,
      '--out',
      join(dir, 'm.crf'),
      '--max-iter',
      '2',
    );
    assert.equal(r.status, 0, r.stderr);
    const order = [
      new RegExp(`^pool: 40 documents from ${literal(pool)}$`),
      /^crf: extracting the features of 40 sentences$/,
      /^crf: 40 sentences, /,
      /^iter 1 loss /,
      /^O bias: scoring dev with 7 values$/,
      /^O bias (0: no other value scores better on dev|-?[\d.]+: dev F1 [\d.]+)$/,
      /^dev strict micro: /,
    ];
    const at = order.map((re) => r.stderr.split('\n').findIndex((l) => re.test(l)));
    assert.ok(
      at.every((i) => i >= 0),
      `${at}: ${r.stderr}`,
    );
    assert.deepEqual(
      at,
      [...at].sort((a, b) => a - b),
      r.stderr,
    );
  }));

test('train-slm --unlabeled that is missing or a folder: one line naming it, exit 2, before training', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    await writeFile(pool, `${lines.slice(0, 20).join('\n')}\n`);
    for (const [unlabeled, why] of [
      [join(dir, 'missing.txt'), 'no such file'],
      [dir, 'a folder, not a file; --unlabeled takes a text file (one sentence or document per line)'],
    ]) {
      const r = el4ner('train-slm', '--pool', pool, '--out', join(dir, 'm.crf'), '--unlabeled', unlabeled);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `el4ner: ${unlabeled}: ${why}\n`);
    }
  }));

test('Ctrl-C during train-slm says at which iteration it stopped and that no model was written; exit 130, an earlier model untouched', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    const dev = join(dir, 'dev.jsonl');
    await writeFile(pool, `${lines.slice(0, 300).join('\n')}\n`);
    await writeFile(dev, `${lines.slice(300, 360).join('\n')}\n`);
    /** train-slm for far longer than the test waits, interrupted once it has scored dev 3 times */
    const interrupted = (out: string) =>
      trainSlmInterrupted(
        [
          '--pool',
          pool,
          '--dev',
          dev,
          '--out',
          out,
          '--max-iter',
          '5000',
          '--eval-every',
          '1',
          '--patience',
          '5000',
        ],
        /^iter 3 .*dev F1/m,
      );
    const fresh = join(dir, 'fresh.crf');
    const r = await interrupted(fresh);
    assert.equal(r.code, 130, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `\\nel4ner: SIGINT: training stopped at iteration \\d+ of 5000 \\(best dev F1 so far \\d\\.\\d{4}\\); no model written \\(nothing written to ${literal(fresh)}\\)\\n$`,
      ),
    );
    assert.ok(!existsSync(fresh));

    const earlier = join(dir, 'earlier.crf');
    await writeFile(earlier, 'the model of an earlier run');
    const again = await interrupted(earlier);
    assert.equal(again.code, 130, again.stderr);
    assert.match(again.stderr, new RegExp(`the model already at ${literal(earlier)} is untouched\\)\\n$`));
    assert.equal(await readFile(earlier, 'utf8'), 'the model of an earlier run');
  }));

test('Ctrl-C during the feature extraction, the O bias search or the final dev scoring of train-slm: said, no model written, exit 130', () =>
  inTempDir(async (dir, lines) => {
    const big = join(dir, 'big.jsonl');
    const pool = join(dir, 'pool.jsonl');
    const dev = join(dir, 'dev.jsonl');
    // seconds of features to extract, and a dev set that takes a second or more to score
    await writeFile(big, `${lines.slice(0, 3000).join('\n')}\n`);
    await writeFile(pool, `${lines.slice(0, 200).join('\n')}\n`);
    await writeFile(dev, `${lines.slice(3000, 6000).join('\n')}\n`);
    const out = join(dir, 'm.crf');
    for (const [args, when, where] of [
      [
        ['--pool', big, '--dev-share', '0'],
        /^crf: extracting the features of 3000 sentences$/m,
        'while extracting the features of the training sentences',
      ],
      [['--pool', pool, '--dev', dev], /^iter 1 loss /m, 'while scoring the last iteration on the dev set'],
      [
        ['--pool', pool, '--dev', dev],
        /^O bias: scoring dev with 7 values$/m,
        'while choosing the O bias on the dev set',
      ],
      [
        ['--pool', pool, '--dev', dev],
        /^O bias (0: no other value scores better on dev|-?[\d.]+: dev F1 [\d.]+)$/m,
        'while scoring the trained model on the dev set',
      ],
    ] as const) {
      const r = await trainSlmInterrupted([...args, '--out', out, '--max-iter', '1'], when);
      assert.equal(r.code, 130, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `\\nel4ner: SIGINT: training stopped ${where}; no model written \\(nothing written to ${literal(out)}\\)\\n$`,
        ),
      );
      assert.ok(!existsSync(out), where);
    }
  }));

test('Ctrl-C while train-slm loads the GloVe clusters or builds the word clusters from a big --unlabeled text: said, no model written, exit 130', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    const unlabeled = join(dir, 'unlabeled.txt');
    await writeFile(pool, `${lines.slice(0, 200).join('\n')}\n`);
    // the texts of the whole CoNLL-2003 training split: seconds of clustering
    await writeFile(unlabeled, `${lines.map((l) => (JSON.parse(l) as { text: string }).text).join('\n')}\n`);
    const out = join(dir, 'm.crf');
    for (const [args, when, where, after] of [
      // the shipped clusters are the first thing loaded after the pool line
      [
        ['--clusters', 'glove'],
        /^pool: /m,
        'while loading the shipped GloVe word clusters',
        /^crf: extracting/m,
      ],
      [
        ['--unlabeled', unlabeled],
        /^crf: building the word clusters from the training text and the unlabeled text$/m,
        'while building the word clusters from the text',
        /words clustered/,
      ],
    ] as const) {
      const r = await trainSlmInterrupted(
        ['--pool', pool, ...args, '--dev-share', '0', '--out', out, '--max-iter', '1'],
        when,
      );
      assert.equal(r.code, 130, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `\\nel4ner: SIGINT: training stopped ${where}; no model written \\(nothing written to ${literal(out)}\\)\\n$`,
        ),
      );
      // stopped in the step, not after it
      assert.doesNotMatch(r.stderr, after);
      assert.ok(!existsSync(out));
    }
  }));

test('Ctrl-C in the final training on all sentences (after the held-out one): the message names it and gives its own iteration', () =>
  inTempDir(async (dir, lines) => {
    const pool = join(dir, 'pool.jsonl');
    await writeFile(pool, `${lines.slice(0, 1000).join('\n')}\n`);
    const out = join(dir, 'm.crf');
    const r = await trainSlmInterrupted(
      ['--pool', pool, '--out', out, '--max-iter', '12', '--eval-every', '1', '--patience', '12'],
      /^crf: retraining on all 1000 sentences [^\n]*\n[\s\S]*^iter 1 loss /m,
    );
    assert.equal(r.code, 130, r.stderr);
    // the held-out training ran its 12 iterations; the final one runs as many as it kept
    assert.match(r.stderr, /^iter 12 loss /m);
    const kept = /^crf: retraining on all 1000 sentences for (\d+) iterations/m.exec(r.stderr)?.[1];
    assert.ok(kept, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `\\nel4ner: SIGINT: training stopped at iteration \\d+ of ${kept} in the final training on all sentences \\(the second of two\\); no model written \\(nothing written to ${literal(out)}\\)\\n$`,
      ),
    );
    assert.ok(!existsSync(out));
  }));

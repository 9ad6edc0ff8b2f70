import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const gold = path.join(repoRoot, 'samples/gold.jsonl');
const tmp = mkdtempSync(path.join(tmpdir(), 'el4ner-score-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function run(args: string[]) {
  return spawnSync(process.execPath, [path.join(repoRoot, 'bin/el4ner.js'), ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
}

describe('el4ner score', () => {
  it('gold against itself: every F1 is 1', () => {
    const r = run(['score', '--gold', gold, '--pred', gold, '--json', '--bootstrap', '100']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.micro.f1, 1);
    assert.equal(report.macro_f1, 1);
    assert.equal(report.span_f1, 1);
    assert.equal(report.token_macro.f1, 1);
    assert.deepEqual(report.bootstrap, { f1_low: 1, f1_high: 1, n: 100, seed: 42, level: 0.95 });
    assert.equal(report.documents, 60);
    assert.equal(report.missing_predictions, 0);
    for (const key of [
      'micro',
      'macro_f1',
      'per_type',
      'span_f1',
      'span',
      'muc',
      'token_macro',
      'bootstrap',
    ]) {
      assert.ok(key in report, key);
    }
  });

  it('gold against an empty file: F1 0, every document missing, exit 0', () => {
    const empty = path.join(tmp, 'empty.jsonl');
    writeFileSync(empty, '');
    const r = run(['score', '--gold', gold, '--pred', empty, '--json', '--bootstrap', '0']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.micro.f1, 0);
    assert.equal(report.micro.tp, 0);
    assert.ok(report.micro.fn > 0);
    assert.equal(report.missing_predictions, 60);
    assert.equal(report.bootstrap, null);
  });

  it('prints the human report on the bundled sample', () => {
    const r = run([
      'score',
      '--gold',
      gold,
      '--pred',
      path.join(repoRoot, 'samples/pred.jsonl'),
      '--bootstrap',
      '200',
    ]);
    assert.equal(r.status, 0, r.stderr);
    for (const s of [
      'strict micro',
      'span only',
      'token macro',
      'macro F1',
      'bootstrap CI',
      'per type',
      'MUC',
    ]) {
      assert.ok(r.stdout.includes(s), s);
    }
  });

  it('an unknown id in the prediction is a user error (exit 2) naming id and file', () => {
    const bad = path.join(tmp, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ id: 'no-such-doc', text: 'x', entities: [] })}\n`);
    const r = run(['score', '--gold', gold, '--pred', bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no-such-doc/);
    assert.ok(r.stderr.includes(bad));
  });

  it('the sample prediction is reproducible from its script', () => {
    const out = path.join(tmp, 'pred.jsonl');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/make-sample-pred.ts', gold, out], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), readFileSync(path.join(repoRoot, 'samples/pred.jsonl'), 'utf8'));
  });
});

describe('el4ner score with other formats', () => {
  it('reads CoNLL gold and prediction (--gold-format / --pred-format)', () => {
    const goldConll = path.join(tmp, 'gold.conll');
    const predConll = path.join(tmp, 'pred.conll');
    writeFileSync(goldConll, 'John B-PER\nlives O\nin O\nParis B-LOC\n\nHi O\nBob B-PER\n');
    writeFileSync(predConll, 'John B-PER\nlives O\nin O\nParis B-ORG\n\nHi O\nBob B-PER\n');
    const r = run([
      'score',
      '--gold',
      goldConll,
      '--gold-format',
      'conll',
      '--pred',
      predConll,
      '--pred-format',
      'conll',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual([report.micro.tp, report.micro.fp, report.micro.fn], [2, 1, 1]);
    assert.equal(report.documents, 2);
  });

  it('detects CoNLL from the extension and pairs by order; --match id refuses', () => {
    const goldConll = path.join(tmp, 'g2.conll');
    writeFileSync(goldConll, 'Hi O\nBob B-PER\n');
    const predConll = path.join(tmp, 'p2.conll');
    writeFileSync(predConll, 'Hi O\nBob I-PER\n');
    const r = run(['score', '--gold', goldConll, '--pred', predConll, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).micro.f1, 1);
    const byId = run(['score', '--gold', goldConll, '--pred', predConll, '--match', 'id']);
    assert.equal(byId.status, 2);
    assert.match(byId.stderr, /"p2-0", which is not in the gold set/);
    assert.match(
      byId.stderr,
      /by position: --match order/,
      'the message names the flag that pairs by position',
    );
  });

  it('an empty gold file is an input error; an empty prediction file scores with a warning', () => {
    const empty = path.join(tmp, 'empty.jsonl');
    writeFileSync(empty, '');
    const noGold = run(['score', '--gold', empty, '--pred', gold]);
    assert.equal(noGold.status, 2, noGold.stderr);
    assert.match(noGold.stderr, /empty\.jsonl: no gold documents/);
    const noPred = run(['score', '--gold', gold, '--pred', empty, '--json']);
    assert.equal(noPred.status, 0, noPred.stderr);
    assert.match(noPred.stderr, /warning: .*empty\.jsonl has no documents/);
    const report = JSON.parse(noPred.stdout);
    assert.equal(report.micro.tp, 0);
    assert.ok(report.micro.fn > 0);
  });

  it('eval refuses an empty test file and --limit 0 before building anything', () => {
    const empty = path.join(tmp, 'empty-test.jsonl');
    writeFileSync(empty, '');
    const config = path.join(tmp, 'crf-only.yaml');
    writeFileSync(config, 'fusion: {slm: does-not-matter.crf}\n');
    const noDocs = run(['eval', '--config', config, '--test', empty]);
    assert.equal(noDocs.status, 2, noDocs.stderr);
    assert.match(noDocs.stderr, /empty-test\.jsonl: no documents to evaluate on/);
    const zero = run(['eval', '--config', config, '--test', gold, '--limit', '0']);
    assert.equal(zero.status, 2, zero.stderr);
    assert.match(zero.stderr, /--limit must be a positive integer/);
  });

  it('rejects an unknown format name', () => {
    const r = run(['score', '--gold', gold, '--pred', gold, '--pred-format', 'xml']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--pred-format/);
  });
  it('--against: the F1 difference with another system, a paired bootstrap CI and the win share', () => {
    const docs = readFileSync(gold, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    // A weaker system: every other gold entity dropped.
    const weaker = path.join(tmp, 'weaker.jsonl');
    writeFileSync(
      weaker,
      docs
        .map((d) =>
          JSON.stringify({ ...d, entities: d.entities.filter((_: unknown, i: number) => i % 2 === 0) }),
        )
        .join('\n'),
    );
    const r = run([
      'score',
      '--gold',
      gold,
      '--pred',
      gold,
      '--against',
      weaker,
      '--json',
      '--bootstrap',
      '200',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const c = JSON.parse(r.stdout).comparison;
    assert.equal(c.against, weaker);
    assert.ok(c.against_f1 > 0 && c.against_f1 < 1, String(c.against_f1));
    assert.equal(c.delta_f1, 1 - c.against_f1);
    assert.ok(
      c.bootstrap.delta_low > 0 &&
        c.bootstrap.delta_low <= c.delta_f1 &&
        c.delta_f1 <= c.bootstrap.delta_high,
    );
    assert.equal(c.bootstrap.win_share, 1);

    const reverse = run(['score', '--gold', gold, '--pred', weaker, '--against', gold, '--bootstrap', '200']);
    assert.equal(reverse.status, 0, reverse.stderr);
    assert.match(reverse.stdout, /against .*gold\.jsonl: micro F1 0\.\d{4} vs 1\.0000, difference -0\.\d{4}/);
    assert.match(reverse.stdout, /these predictions score higher in 0\.0% of 200 paired resamples/);

    const stranger = path.join(tmp, 'stranger.jsonl');
    writeFileSync(stranger, JSON.stringify({ id: 'not-in-gold', text: 'x', entities: [] }));
    const bad = run(['score', '--gold', gold, '--pred', gold, '--against', stranger]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /stranger\.jsonl/);
    assert.match(bad.stderr, /not-in-gold/);
  });
});

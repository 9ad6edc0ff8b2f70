/**
 * No silent mixing in one output file: a resume with another config or input is refused
 * (`<output>.run.json` records what produced the rows), and two runs never write one file at once
 * (`<output>.lock`), while a resume after kill -9 still just works.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  bin,
  conllLines,
  el4ner,
  el4nerAsync,
  hasStack,
  offlineConfig,
  tmpDir,
  trainSmallCrf,
} from '../support/cli.js';
import { goldByText, oracleAnswer } from '../support/oracle.js';
import { readGold, schemaName } from '../support/oracle-server.js';
import { type ScriptedServer, startScriptedServer } from '../support/scripted-server.js';

const jsonl = (lines: string[]) =>
  `${lines
    .map((l) => {
      const o = JSON.parse(l);
      return JSON.stringify({ id: o.id, text: o.text });
    })
    .join('\n')}\n`;
const ids = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).id as string);

describe('one output, one producer', () => {
  let dir: string;
  let crf: string;
  let offline: string;
  let in100: string;
  let in200: string;
  let llm: ScriptedServer;
  let llmConfig: string;
  let delayMs = 0;

  before(async () => {
    dir = tmpDir('el4ner-mixing-');
    crf = trainSmallCrf();
    offline = offlineConfig(crf);
    in100 = join(dir, 'in100.jsonl');
    in200 = join(dir, 'in200.jsonl');
    writeFileSync(in100, jsonl(conllLines('test', 100)));
    writeFileSync(in200, jsonl(conllLines('test', 200)));
    const byText = goldByText(readGold('conll2003', 'test', 200));
    llm = await startScriptedServer({
      chat: async (req) => {
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        return { json: oracleAnswer(byText, {}, req.messages, schemaName(req)) };
      },
    });
    llmConfig = join(dir, 'llm.json');
    writeFileSync(
      llmConfig,
      JSON.stringify({
        models: [{ name: 'a', engine: 'openai', baseUrl: llm.url, model: 'a', concurrency: 1 }],
        labels: ['LOC', 'MISC', 'ORG', 'PER'],
        concurrency: 1,
        cache: { enabled: false },
        stages: { verification: false },
      }),
    );
  });
  after(async () => {
    await llm?.close();
  });

  test('a resume with another config or input is refused; --overwrite starts over', async () => {
    const out = join(dir, 'out.jsonl');
    const first = el4ner(['run', '--config', offline, '--input', in100, '--output', out]);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(existsSync(`${out}.run.json`), 'the record sits beside the output');
    const crfRows = readFileSync(out, 'utf8');
    assert.equal(ids(out).length, 100);
    assert.ok(
      crfRows.split('\n').every((l) => l === '' || !('config' in JSON.parse(l))),
      'the rows stay clean',
    );

    // the same input through the LLM config: would be 100 CRF rows + 100 LLM rows
    const other = await el4nerAsync(['run', '--config', llmConfig, '--input', in200, '--output', out]);
    assert.equal(other.code, 3, other.stderr);
    assert.match(other.stderr, /out\.jsonl: was written by another run: the configuration differs \(models/);
    assert.match(other.stderr, /the input differs \(200 documents now, 100 then\)/);
    assert.match(other.stderr, /--overwrite/);
    assert.ok(!hasStack(other.stderr), other.stderr);
    assert.equal(readFileSync(out, 'utf8'), crfRows, 'the output is untouched');
    assert.equal(llm.requests.length, 0, 'refused before any model call');

    const moreInput = el4ner(['run', '--config', offline, '--input', in200, '--output', out]);
    assert.equal(moreInput.code, 3);
    assert.match(moreInput.stderr, /the input differs \(200 documents now, 100 then\)/);
    assert.doesNotMatch(moreInput.stderr, /configuration differs/);

    // speed-only settings may change on a resume: concurrency, cache
    const sameAnswers = join(dir, 'same.json');
    writeFileSync(
      sameAnswers,
      JSON.stringify({ fusion: { slm: crf }, concurrency: 2, cache: { enabled: false } }),
    );
    const lines = crfRows.split('\n').filter(Boolean);
    writeFileSync(out, `${lines.slice(0, 60).join('\n')}\n${lines[60].slice(0, 25)}`); // killed mid-row
    const resumed = el4ner([
      'run',
      '--config',
      sameAnswers,
      '--input',
      in100,
      '--output',
      out,
      '--concurrency',
      '3',
    ]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /60 document\(s\) already in .* skipped/);
    assert.equal(readFileSync(out, 'utf8'), crfRows, 'resumed byte for byte');

    const over = await el4nerAsync([
      'run',
      '--config',
      llmConfig,
      '--input',
      in200,
      '--output',
      out,
      '--overwrite',
    ]);
    assert.equal(over.code, 0, over.stderr);
    assert.equal(ids(out).length, 200);
    const again = el4ner(['run', '--config', offline, '--input', in200, '--output', out]);
    assert.equal(again.code, 3, 'the record now names the LLM run');
  });

  test('rows without a record are not resumed into', () => {
    const out = join(dir, 'foreign.jsonl');
    writeFileSync(out, `${JSON.stringify({ id: 'conll2003-test-0', text: 'x', entities: [] })}\n`);
    const r = el4ner(['run', '--config', offline, '--input', in100, '--output', out]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /already has rows, but no record of the config and input that produced them/);
  });

  test('a second run on the same output is refused while the first writes; a killed run leaves no lock behind', async () => {
    const out = join(dir, 'locked.jsonl');
    delayMs = 40;
    const args = [bin, 'run', '--config', llmConfig, '--input', in100, '--output', out];
    const first: ChildProcess = spawn(process.execPath, args, { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 60_000;
      while (!(existsSync(out) && ids(out).length >= 5) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(`${out}.lock`));
      const second = await el4nerAsync(['run', '--config', llmConfig, '--input', in100, '--output', out]);
      assert.equal(second.code, 3, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(`another el4ner run is writing this file \\(pid ${first.pid} on `),
      );
      assert.equal(first.exitCode, null, 'the first run is still going');
    } finally {
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
    }
    delayMs = 0;
    const before = ids(out).length;
    assert.ok(before < 100);
    // the lock file of the killed run is still there; its pid is dead, so the resume takes it over
    assert.ok(existsSync(`${out}.lock`));
    const third = await el4nerAsync(['run', '--config', llmConfig, '--input', in100, '--output', out]);
    assert.equal(third.code, 0, third.stderr);
    const all = ids(out);
    assert.equal(all.length, 100);
    assert.equal(new Set(all).size, 100, 'every document exactly once');
    assert.ok(!existsSync(`${out}.lock`), 'released at the end');
    rmSync(out);
  });
});

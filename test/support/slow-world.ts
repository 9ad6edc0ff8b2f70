/**
 * The world of the progress and Ctrl-C tests of long commands (tune, select, ablate): a folder with
 * a labelled sample and a config of two slow oracle models over a real scripted server, and the
 * CLI run in a terminal (`script`) so its progress bar is drawn and a Ctrl-C arrives as a user's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NerDocument } from '../../src/core/types.js';
import { openaiModel, startSlowOracles } from '../experts/helpers.js';
import { bin, tmpDir } from './cli.js';
import type { ScriptedServer } from './scripted-server.js';

export interface SlowWorld {
  server: ScriptedServer;
  dir: string;
  /** The config: models `a` and `b`, the CoNLL labels, no cache, one call at a time, and `extra`. */
  config: string;
  /** The sample, as JSONL in `dir`. */
  sample: string;
  close(): Promise<void>;
}

export async function startSlowWorld(
  name: string,
  docs: readonly NerDocument[],
  opts: { sampleFile?: string; extra?: Record<string, unknown> } = {},
): Promise<SlowWorld> {
  const server = await startSlowOracles(docs);
  const dir = tmpDir(`el4ner-${name}-`);
  const sample = join(dir, opts.sampleFile ?? 'sample.jsonl');
  writeFileSync(sample, docs.map((d) => `${JSON.stringify(d)}\n`).join(''));
  const config = join(dir, 'el4ner.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: ['a', 'b'].map((n) => openaiModel(server.url, n)),
      labels: ['LOC', 'MISC', 'ORG', 'PER'],
      cache: { enabled: false },
      concurrency: 1,
      ...opts.extra,
    }),
  );
  return {
    server,
    dir,
    config,
    sample,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `el4ner <args>` in a terminal and presses Ctrl-C once the server has had `requests` more
 * requests. Returns the exit code and what the terminal showed.
 */
export async function interruptInTerminal(
  args: readonly string[],
  server: ScriptedServer,
  requests = 8,
): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, bin, ...args].map((a) => `"${a}"`).join(' ');
  const term = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  term.stdout?.setEncoding('utf8').on('data', (d) => {
    screen += d;
  });
  const start = server.requests.length;
  const deadline = Date.now() + 60_000;
  while (server.requests.length - start < requests && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  term.stdin?.write('\x03'); // Ctrl-C, through the terminal
  const code = await new Promise<number | null>((r) => term.once('exit', (c) => r(c)));
  return { code, screen };
}

/** The progress bar hid the terminal's cursor and the command showed it again before it exited. */
export function assertCursorShownAgain(screen: string): void {
  const hide = screen.indexOf('\x1b[?25l');
  assert.ok(hide >= 0, 'the progress bar hid the cursor');
  assert.ok(screen.lastIndexOf('\x1b[?25h') > hide, 'and it was shown again');
}

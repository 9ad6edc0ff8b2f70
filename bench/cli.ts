/** The el4ner CLI as a benchmark runs it: a child process in the repository, as a user would. */
import { spawn } from 'node:child_process';
import { isAbsolute, join, relative } from 'node:path';
import { repoRoot } from '../test/support/replay-systems.js';

/** Paths as the CLI is given them: relative to the repository, where it runs. */
const rel = (p: string) => relative(repoRoot, p);

/** Runs `el4ner argv...`; resolves to its stdout, rejects with the end of its stderr. */
export function runEl4ner(argv: string[], log: (m: string) => void): Promise<string> {
  argv = argv.map((a) => (isAbsolute(a) ? rel(a) : a));
  return new Promise((ok, fail) => {
    log(`el4ner ${argv.join(' ')}`);
    const child = spawn(process.execPath, [join(repoRoot, 'bin/el4ner.js'), ...argv], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
      for (const line of String(d).split('\n'))
        if (/^el4ner: (full|sentence|no-|single|default|drop|calib|held|tables)/.test(line)) log(line);
    });
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0 ? ok(out) : fail(new Error(`el4ner ${argv[0]} exited ${code}\n${err.slice(-3000)}`)),
    );
  });
}

/**
 * The `el4ner` command line. Every file in ./commands registers one or more sub-commands
 * (`export function register(program: Command): void`). Command modules import heavy
 * dependencies (node-llama-cpp, fastify, bullmq) lazily inside their actions so that
 * `el4ner --help` and light commands start fast.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { EXIT, formatError, isVerbose } from './errors.js';

const VERSION = '0.1.0';

export async function buildProgram(): Promise<Command> {
  const program = new Command();
  program
    .name('el4ner')
    .description('Named entity recognition with an ensemble of small LLMs (EL4NER), a CRF tagger and fusion')
    .version(VERSION)
    .option('--verbose', 'print the stack trace of any error')
    .showHelpAfterError();
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'commands');
  const files = readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.endsWith('.map'))
    .sort();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(dir, f)).href)) as { register?: (p: Command) => void };
    mod.register?.(program);
  }
  markRequired(program);
  return program;
}

/** Required options say so in --help (commander lists them like the others). */
function markRequired(cmd: Command): void {
  for (const o of cmd.options)
    if (o.mandatory && !/\brequired\b/.test(o.description)) o.description += ' (required)';
  for (const c of cmd.commands) markRequired(c);
}

/** Every command, not only the top one: sub-commands copy the setting only when they are created. */
function exitOverride(cmd: Command): void {
  cmd.exitOverride();
  for (const c of cmd.commands) exitOverride(c);
}

export async function main(argv: string[]): Promise<void> {
  // `el4ner ... | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const program = await buildProgram();
  exitOverride(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; a bad flag, value or missing option is a usage error like any other
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
      return;
    }
    const { code, text } = formatError(err, isVerbose(argv));
    process.stderr.write(text);
    // open handles (a listening server, Redis connections, loaded models) must not keep a failed command alive
    process.exit(code);
  }
}

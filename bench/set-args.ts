import { resolve } from 'node:path';

/** The `[set...] [--md out.md]` arguments the replay benchmarks share. */
export function setsAndMarkdown(args: readonly string[]): { sets: string[]; mdOut?: string } {
  const sets: string[] = [];
  let mdOut: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--md') mdOut = resolve(args[++i]);
    else sets.push(args[i]);
  }
  return { sets, mdOut };
}

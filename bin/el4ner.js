#!/usr/bin/env node
// In a source checkout (src/ present) the CLI runs the TypeScript sources through tsx, so it is never
// stale; an installed package ships only the compiled dist/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src', 'cli', 'main.ts');
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(pathToFileURL(source).href);
  await main(process.argv);
} else {
  const { main } = await import(pathToFileURL(join(root, 'dist', 'cli', 'main.js')).href);
  await main(process.argv);
}

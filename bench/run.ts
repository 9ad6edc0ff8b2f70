/**
 * `npm run bench`: every benchmark in turn, each in its own process (their figures go in README.md).
 * The CRF table over all data sets takes much longer: `npm run bench:slm`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = ['retrieval', 'pipeline', 'prompt-cache', 'answers', 'queue', 'onnx', 'faults'].filter(
  (b) => only.length === 0 || only.includes(b),
);
let failed = 0;
for (const b of benches) {
  const file = join(here, `${b}.ts`);
  if (!existsSync(file)) continue;
  console.log(`\n## bench/${b}.ts`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`bench/${b}.ts failed (exit ${r.status})`);
  }
}
process.exit(failed ? 1 : 0);

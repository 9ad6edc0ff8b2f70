/**
 * One builder of the concurrency test: builds or loads the index of POOL_FILE in DIR with the
 * lexical embedder, as `el4ner run` does, and prints what it got.
 *   node --import tsx build-index-worker.ts POOL_FILE DIR
 */
import { buildOrLoadIndex, LexicalEmbedder } from '../../../src/retrieval/public.js';

const [poolFile, dir] = process.argv.slice(2);
const r = await buildOrLoadIndex({ poolFile }, dir, { embedder: new LexicalEmbedder({ dim: 64 }) });
process.stdout.write(`${r.rebuilt ? 'built' : 'loaded'} sentences ${r.index.manifest.sentences}\n`);

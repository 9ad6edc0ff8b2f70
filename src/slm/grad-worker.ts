/** Worker thread: computes the NLL gradient of one shard of training sentences on shared memory. */
import { parentPort, workerData } from 'node:worker_threads';
import { type CrfShape, CrfWorkspace, type EncodedSentence } from './crf.js';
import { shardNllGrad } from './objective.js';

interface Init {
  shape: CrfShape;
  sentences: EncodedSentence[];
  w: SharedArrayBuffer;
  g: SharedArrayBuffer;
}

const init = workerData as Init;
const w = new Float64Array(init.w);
const g = new Float64Array(init.g);
const ws = new CrfWorkspace(init.shape.numLabels);

parentPort?.on('message', () => {
  try {
    g.fill(0);
    const nll = shardNllGrad(w, init.shape, init.sentences, g, ws);
    parentPort?.postMessage({ nll });
  } catch (err) {
    parentPort?.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
});

import { realpathSync } from 'node:fs';
import type { Llama, LlamaModel } from 'node-llama-cpp';

/**
 * One loaded model per GGUF file and runtime, shared by every engine of the process that names it
 * (a backbone and a verifier on one file, one file at two temperatures). What makes two loads the
 * same is decided here only: the runtime (`Llama`, one per gpu/build setting, src/engines/llama-cpp/runtime.ts)
 * and the file's real path, since `loadModel` gets no other option. Contexts, sequences, LoRA
 * adapters and sampling settings are each engine's own. The model is disposed when its last user
 * releases it.
 */
interface Entry {
  model: Promise<LlamaModel>;
  users: number;
}

const byRuntime = new WeakMap<Llama, Map<string, Entry>>();
let loads = 0;
let loaded = 0;

export interface SharedModel {
  model: LlamaModel;
  /** Whether this call loaded the model (false: it was already loaded, or being loaded, for another engine). */
  loadedNow: boolean;
  /** Stops using the model; the last user disposes it. Calling it again does nothing. */
  release(): Promise<void>;
}

/** Models loaded in this process so far, and how many are loaded now (read-only, for diagnostics and tests). */
export function modelLoadCounts(): { loads: number; loaded: number } {
  return { loads, loaded };
}

export async function acquireModel(llama: Llama, modelPath: string): Promise<SharedModel> {
  const key = realpathSync(modelPath);
  let models = byRuntime.get(llama);
  if (!models) {
    models = new Map();
    byRuntime.set(llama, models);
  }
  let entry = models.get(key);
  const loadedNow = !entry;
  if (!entry) {
    const model = llama.loadModel({ modelPath: key });
    const created: Entry = { model, users: 0 };
    entry = created;
    models.set(key, created);
    model.then(
      () => {
        loads++;
        loaded++;
      },
      // a failed load may succeed later (the file is fixed): the next engine tries again
      () => {
        if (models.get(key) === created) models.delete(key);
      },
    );
  }
  entry.users++;
  let model: LlamaModel;
  try {
    model = await entry.model;
  } catch (err) {
    entry.users--;
    throw err;
  }
  const own = entry;
  let released = false;
  return {
    model,
    loadedNow,
    async release() {
      if (released) return;
      released = true;
      own.users--;
      if (own.users > 0) return;
      if (models.get(key) === own) models.delete(key);
      loaded--;
      await model.dispose();
    },
  };
}

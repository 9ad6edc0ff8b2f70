import type { Llama } from 'node-llama-cpp';

export interface RuntimeOptions {
  gpu?: false | 'auto';
  /**
   * `'auto'` (node-llama-cpp's default) compiles llama.cpp from source, for minutes, when no prebuilt
   * binary works; `'never'` fails at once instead (tests and CI use it after scripts/prepare-llama.mjs).
   */
  build?: 'auto' | 'never';
}

interface Shared {
  llama: Promise<Llama>;
  users: number;
}

// One native runtime per GPU/build setting, shared by every engine in the process.
const shared = new Map<string, Shared>();

function keyOf(o: RuntimeOptions): string {
  return `${o.gpu ?? 'auto'}|${o.build ?? 'auto'}`;
}

export async function acquireLlama(options: RuntimeOptions): Promise<Llama> {
  const key = keyOf(options);
  let entry = shared.get(key);
  if (!entry) {
    const llama = (async () => {
      const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
      return getLlama({
        gpu: options.gpu ?? 'auto',
        build: options.build ?? 'auto',
        logLevel: LlamaLogLevel.error,
      });
    })();
    entry = { llama, users: 0 };
    shared.set(key, entry);
    llama.catch(() => {
      if (shared.get(key) === entry) shared.delete(key);
    });
  }
  entry.users++;
  try {
    return await entry.llama;
  } catch (err) {
    entry.users--;
    throw err;
  }
}

export async function releaseLlama(options: RuntimeOptions): Promise<void> {
  const key = keyOf(options);
  const entry = shared.get(key);
  if (!entry) return;
  entry.users--;
  if (entry.users > 0) return;
  shared.delete(key);
  const llama = await entry.llama.catch(() => undefined);
  await llama?.dispose();
}

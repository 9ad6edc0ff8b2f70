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

/**
 * An engine stops using its runtime. The runtime stays loaded for later engines: getLlama() re-checks
 * the binary in a child process (about a second), and an idle runtime holds no model and does not keep
 * the process alive. disposeIdleRuntimes() frees idle ones explicitly.
 */
export function releaseLlama(options: RuntimeOptions): void {
  const entry = shared.get(keyOf(options));
  if (entry && entry.users > 0) entry.users--;
}

export async function disposeIdleRuntimes(): Promise<void> {
  for (const [key, entry] of [...shared]) {
    if (entry.users > 0) continue;
    shared.delete(key);
    const llama = await entry.llama.catch(() => undefined);
    await llama?.dispose();
  }
}

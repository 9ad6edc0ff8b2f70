/**
 * Is the service ready? The default method was built from the config (pool, CRF and every file it
 * reads included) and the start-up checks of src/assemble/preflight.ts pass (HTTP models answer
 * GET /models, local models are GGUF files). What an HTTP body shows never holds a server path or
 * file contents: only short causes.
 */
import { preflight } from '../assemble/preflight.js';
import type { Config } from '../config/schema.js';

export interface Readiness {
  ready: boolean;
  /** The default method: built, still building, or why it cannot be built. */
  method: { ok: boolean; error?: string };
  models: Record<string, { ok: boolean; error?: string }>;
  files?: Record<string, { ok: boolean; error?: string }>;
}

export type MethodState = { state: 'building' } | { state: 'ready' } | { state: 'failed'; error: string };

export async function checkReadiness(
  config: Config,
  method: MethodState,
  timeoutMs = 2000,
): Promise<Readiness> {
  const report = await preflight(config, { timeoutMs });
  const models: Readiness['models'] = {};
  const files: NonNullable<Readiness['files']> = {};
  for (const c of report.checks) {
    const entry = c.ok ? { ok: true } : { ok: false, error: c.publicError ?? 'failed' };
    if (c.what.startsWith('model ')) models[c.what.slice('model '.length)] = entry;
    else files[c.what] = entry;
  }
  const m =
    method.state === 'ready'
      ? { ok: true }
      : method.state === 'building'
        ? { ok: false, error: 'the method is still being built' }
        : { ok: false, error: method.error };
  return {
    ready: report.ok && m.ok,
    method: m,
    models,
    ...(Object.keys(files).length ? { files } : {}),
  };
}

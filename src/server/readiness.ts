/** Are the configured engines reachable? HTTP models answer GET {baseUrl}/models; local models exist on disk. */
import { existsSync } from 'node:fs';
import type { Config } from '../config/schema.js';

export interface Readiness {
  ready: boolean;
  models: Record<string, { ok: boolean; error?: string }>;
}

export async function checkEngines(config: Config, timeoutMs = 2000): Promise<Readiness> {
  const models: Readiness['models'] = {};
  await Promise.all(
    config.models.map(async (m) => {
      if (m.engine === 'llama-cpp') {
        const ok = m.path.startsWith('hf:') || existsSync(m.path);
        models[m.name] = ok ? { ok } : { ok, error: `model file not found: ${m.path}` };
        return;
      }
      const headers: Record<string, string> = {};
      const key = m.apiKeyEnv ? process.env[m.apiKeyEnv] : undefined;
      if (key) headers.authorization = `Bearer ${key}`;
      try {
        const r = await fetch(`${m.baseUrl.replace(/\/$/, '')}/models`, {
          headers,
          signal: AbortSignal.timeout(timeoutMs),
        });
        models[m.name] = r.ok ? { ok: true } : { ok: false, error: `GET /models answered ${r.status}` };
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        models[m.name] = { ok: false, error: cause ?? (e as Error).name };
      }
    }),
  );
  return { ready: Object.values(models).every((x) => x.ok), models };
}

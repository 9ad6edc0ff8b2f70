/**
 * The one list of the config keys that hold file paths: `loadConfig` resolves them against the
 * config file's folder, and a derived config (`tune`, `select`) rebases them onto its own folder.
 */
import { isAbsolute } from 'node:path';

// biome-ignore lint/suspicious/noExplicitAny: parsed or raw YAML objects alike
type Loose = Record<string, any>;

/** Whether `p` is a path on this machine (not a hub URI) that is relative. */
export const isRelativePath = (p: unknown): p is string =>
  typeof p === 'string' && p !== '' && !isAbsolute(p) && !/^(hf:|huggingface:|https?:\/\/)/i.test(p);

/** Replaces every relative path of the config `cfg` (parsed or raw) in place with `fix(path)`. */
export function mapConfigPaths(cfg: Loose, fix: (p: string) => string): void {
  const at = (o: Loose | undefined, key: string) => {
    if (o && isRelativePath(o[key])) o[key] = fix(o[key]);
  };
  const adapters = (list: unknown) => {
    if (Array.isArray(list)) for (const l of list) at(l, 'path');
  };
  at(cfg, 'pool');
  at(cfg.cache, 'path');
  for (const m of Array.isArray(cfg.models) ? cfg.models : []) {
    if (m?.engine !== 'llama-cpp') continue;
    at(m, 'path');
    at(m, 'modelCacheDir');
    adapters(m.lora);
  }
  if (cfg.fusion && typeof cfg.fusion === 'object') {
    if (typeof cfg.fusion.slm === 'string') at(cfg.fusion, 'slm');
    else at(cfg.fusion.slm, 'path');
    at(cfg.fusion, 'dev');
  }
  for (const e of Array.isArray(cfg.experts) ? cfg.experts : []) {
    at(e?.domain, 'samples');
    adapters(e?.lora);
  }
}

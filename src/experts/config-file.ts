/**
 * Writing a config derived from the user's file: the original keys as written (not the defaults
 * zod fills in) plus the chosen settings, with relative paths rebased onto the new file's folder
 * so that `el4ner run --config <new file>` works as is.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { ConfigError } from '../core/errors.js';

// biome-ignore lint/suspicious/noExplicitAny: raw YAML objects are untyped
export type RawConfig = Record<string, any>;

export function readRawConfig(file: string): RawConfig {
  try {
    const raw = parse(readFileSync(file, 'utf8'));
    return raw && typeof raw === 'object' ? (raw as RawConfig) : {};
  } catch (e) {
    throw new ConfigError(`cannot read config ${file}: ${(e as Error).message}`);
  }
}

/** Rewrites relative paths written against `fromDir` so they are relative to `toDir`. */
export function rebasePaths(raw: RawConfig, fromDir: string, toDir: string): RawConfig {
  const out: RawConfig = structuredClone(raw);
  const fix = (p: unknown) => {
    if (typeof p !== 'string' || isAbsolute(p) || p.startsWith('hf:')) return p;
    const r = relative(toDir, resolve(fromDir, p));
    return r === '' ? '.' : r;
  };
  if (out.pool) out.pool = fix(out.pool);
  if (out.cache?.path) out.cache.path = fix(out.cache.path);
  for (const m of out.models ?? []) {
    if (m?.engine !== 'llama-cpp') continue;
    if (m.path) m.path = fix(m.path);
    if (m.modelCacheDir) m.modelCacheDir = fix(m.modelCacheDir);
    for (const l of m.lora ?? []) l.path = fix(l.path);
  }
  if (typeof out.fusion?.slm === 'string') out.fusion.slm = fix(out.fusion.slm);
  else if (out.fusion?.slm?.path) out.fusion.slm.path = fix(out.fusion.slm.path);
  if (out.fusion?.dev) out.fusion.dev = fix(out.fusion.dev);
  for (const e of out.experts ?? []) {
    if (e?.domain?.samples) e.domain.samples = fix(e.domain.samples);
    for (const l of e?.lora ?? []) l.path = fix(l.path);
  }
  return out;
}

/** Writes `raw` (already holding the choices) as YAML next to `outFile`, paths rebased from `configFile`. */
export function writeDerivedConfig(
  configFile: string,
  raw: RawConfig,
  outFile: string,
  header: string,
): void {
  const rebased = rebasePaths(raw, dirname(resolve(configFile)), dirname(resolve(outFile)));
  const text = `${header
    .split('\n')
    .map((l) => `# ${l}`)
    .join('\n')}\n${stringify(rebased)}`;
  writeFileSync(outFile, text);
}

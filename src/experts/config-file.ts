/**
 * Writing a config derived from the user's file: the original keys as written (not the defaults
 * zod fills in) plus the chosen settings, with relative paths rebased onto the new file's folder
 * so that `el4ner run --config <new file>` works as is.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { mapConfigPaths } from '../config/paths.js';
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
  mapConfigPaths(out, (p) => {
    const r = relative(toDir, resolve(fromDir, p));
    return r === '' ? '.' : r;
  });
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

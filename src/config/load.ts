import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { ZodError } from 'zod';
import { ConfigError } from '../core/errors.js';
import { type Config, configSchema } from './schema.js';

function formatIssues(file: string, err: ZodError): string {
  return err.issues
    .map((i) => {
      const key = i.path.length
        ? i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')
        : '(root)';
      return `${file}: ${key.replace(/^\./, '')}: ${i.message}`;
    })
    .join('\n');
}

/** Validates a parsed config object; `file` only labels the errors. */
export function parseConfig(raw: unknown, file = '<config>'): Config {
  const r = configSchema.safeParse(raw ?? {});
  if (!r.success) throw new ConfigError(`invalid configuration\n${formatIssues(file, r.error)}`);
  const cfg = r.data;
  const names = new Set<string>();
  for (const m of cfg.models) {
    if (names.has(m.name)) throw new ConfigError(`${file}: models: duplicate model name "${m.name}"`);
    names.add(m.name);
  }
  const known = (key: string, n: string | undefined) => {
    if (n !== undefined && !names.has(n))
      throw new ConfigError(`${file}: ${key}: no model named "${n}" in models`);
  };
  for (const [i, b] of (cfg.backbones ?? []).entries()) known(`backbones[${i}]`, b);
  known('verifier', cfg.verifier);
  known('embedding.model', cfg.embedding?.model);
  known('fusion.llm', cfg.fusion?.llm);
  known('stages.singleModel', cfg.stages.singleModel);
  for (const [i, e] of (cfg.experts ?? []).entries()) known(`experts[${i}].model`, e.model);
  return cfg;
}

/** Reads a YAML or JSON config; relative paths inside it resolve against the file's folder. */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config ${path}: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    throw new ConfigError(`${path}${line ? `:${line}` : ''}: ${e.message.split('\n')[0]}`);
  }
  const cfg = parseConfig(doc.toJS(), path);
  const base = dirname(resolve(path));
  const rel = (p: string) => (isAbsolute(p) || p.startsWith('hf:') ? p : resolve(base, p));
  if (cfg.pool) cfg.pool = rel(cfg.pool);
  cfg.cache.path = rel(cfg.cache.path);
  for (const m of cfg.models) {
    if (m.engine === 'llama-cpp') {
      m.path = rel(m.path);
      if (m.modelCacheDir) m.modelCacheDir = rel(m.modelCacheDir);
      m.lora?.forEach((l) => {
        l.path = rel(l.path);
      });
    }
  }
  if (cfg.fusion) {
    const slm = cfg.fusion.slm;
    cfg.fusion.slm = typeof slm === 'string' ? rel(slm) : { ...slm, path: rel(slm.path) };
  }
  if (cfg.fusion?.dev) cfg.fusion.dev = rel(cfg.fusion.dev);
  return cfg;
}

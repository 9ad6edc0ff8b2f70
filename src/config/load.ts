import { dirname, resolve } from 'node:path';
import { type Document, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { ConfigError, InputError } from '../core/errors.js';
import { utf8FileText } from '../formats/decode.js';
import { issueLines, type Locate } from './issues.js';
import { mapConfigPaths } from './paths.js';
import { type Config, configSchema } from './schema.js';

/** Validates a parsed config object; `file` only labels the errors (`locate` adds their lines). */
export function parseConfig(raw: unknown, file = '<config>', locate?: Locate): Config {
  const r = configSchema.safeParse(raw ?? {});
  if (!r.success) throw new ConfigError(issueLines(r.error.issues, file, configSchema, locate).join('\n'));
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
    text = utf8FileText(path, 'a config is UTF-8 text: convert it (iconv -f latin1 -t utf-8)');
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`${path}: no such config file`);
    if (code === 'EISDIR') throw new ConfigError(`${path}: a folder, not a config file`);
    throw new ConfigError(`cannot read config ${path}: ${(e as Error).message}`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = e.pos ? lineCounter.linePos(e.pos[0]) : undefined;
    const message = e.message.split('\n')[0].replace(/\s*at line \d+, column \d+:?\s*$/, '');
    throw new ConfigError(`${path}${pos ? `:${pos.line}:${pos.col}` : ''}: ${message}`);
  }
  checkRoot(doc, path, lineCounter);
  const cfg = parseConfig(doc.toJS(), path, locator(doc, lineCounter));
  const base = dirname(resolve(path));
  mapConfigPaths(cfg, (p) => resolve(base, p));
  return cfg;
}

/**
 * A config must be a mapping: an empty file (or only comments, or `null`) would otherwise pass
 * as the default config and fail later without naming the file.
 */
function checkRoot(doc: Document, path: string, lines: LineCounter): void {
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null))
    throw new ConfigError(
      `${path}: the config is empty; it needs at least fusion.slm (a CRF model from el4ner train-slm) or models (LLMs)`,
    );
  if (isMap(root)) return;
  const line = root.range ? `:${lines.linePos(root.range[0]).line}` : '';
  const got = isSeq(root) ? 'a list' : `a ${isScalar(root) ? typeof root.value : 'value'}`;
  throw new ConfigError(
    `${path}${line}: (root): a config is a mapping of keys (models:, fusion:, ...), not ${got}`,
  );
}

/** The line of a value (or of a key inside a mapping) in the parsed YAML document. */
function locator(doc: Document, lines: LineCounter): Locate {
  return (path, key) => {
    const node = path.length ? doc.getIn(path as unknown[], true) : doc.contents;
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isNode(p.key) && (p.key as { value?: unknown }).value === key);
      const start = isNode(pair?.key) ? pair.key.range?.[0] : undefined;
      return start === undefined ? undefined : lines.linePos(start).line;
    }
    const start = isNode(node) ? node.range?.[0] : undefined;
    return start === undefined ? undefined : lines.linePos(start).line;
  };
}

/**
 * What produced an output file: a fingerprint of the config (with the content of the files it
 * names: CRF model, pool, dev set, GGUF) and of the input documents. `el4ner run` keeps it beside
 * the output (`<output>.run.json`, so the JSONL rows stay clean) and refuses to resume into a file
 * whose fingerprint differs, unless --overwrite.
 *
 * Settings that change speed but not answers (concurrency, timeouts, retries, cache location,
 * threads, GPU) are left out, so a resume may change them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import type { NerDocument } from '../core/types.js';

export interface RunFingerprint {
  /** sha256 of everything in the config (and named files) that decides the answers. */
  config: string;
  /** The same per top-level config key, to say what changed. */
  configParts: Record<string, string>;
  input: { documents: number; sha256: string };
}

const SPEED_ONLY_TOP = new Set(['concurrency', 'cache']);
const SPEED_ONLY_MODEL = new Set([
  'concurrency',
  'timeoutMs',
  'maxAttempts',
  'apiKeyEnv',
  'parallel',
  'threads',
  'gpu',
  'build',
  'download',
  'modelCacheDir',
  'hfEndpoint',
  'probeTimeoutMs',
]);
/** Files larger than this are stamped by size and modification time instead of content. */
const HASH_LIMIT = 256 * 1024 * 1024;

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** JSON with sorted keys, undefined dropped. */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** A file by its content (a folder by its entries), so moving the project keeps the fingerprint. */
export function fileStamp(path: string): string {
  if (path.startsWith('hf:') || /^https?:/.test(path)) return path;
  if (!existsSync(path)) return 'missing';
  const st = statSync(path);
  if (st.isDirectory()) {
    const entries = readdirSync(path)
      .sort()
      .map((n) => `${n}:${fileStamp(join(path, n))}`);
    return `dir:${sha(entries.join('\n'))}`;
  }
  if (st.size > HASH_LIMIT) return `size:${st.size}:mtime:${Math.floor(st.mtimeMs)}`;
  return `sha256:${sha(readFileSync(path))}`;
}

/** The config with speed-only keys removed and file paths replaced by their stamps. */
function answerRelevant(config: Config): Record<string, unknown> {
  const c = structuredClone(config) as Record<string, unknown> & Config;
  for (const k of SPEED_ONLY_TOP) delete (c as Record<string, unknown>)[k];
  c.models = c.models.map((m) => {
    const o = { ...m } as Record<string, unknown>;
    for (const k of SPEED_ONLY_MODEL) delete o[k];
    if (m.engine === 'llama-cpp') {
      o.path = fileStamp(m.path);
      if (m.lora) o.lora = m.lora.map((l) => ({ ...l, path: fileStamp(l.path) }));
    }
    return o as Config['models'][number];
  });
  if (c.pool) c.pool = fileStamp(c.pool);
  if (c.fusion) {
    const slm = c.fusion.slm;
    c.fusion = {
      ...c.fusion,
      slm: typeof slm === 'string' ? fileStamp(slm) : { ...slm, path: fileStamp(slm.path) },
    };
    if (c.fusion.dev) c.fusion.dev = fileStamp(c.fusion.dev);
  }
  return c;
}

export function inputFingerprint(docs: readonly NerDocument[]): RunFingerprint['input'] {
  const h = createHash('sha256');
  for (const d of docs) {
    // what reaches the method and the output row: id, text, tokens, meta (not gold entities or tags)
    h.update(stable({ id: d.id, text: d.text, tokens: d.tokens?.map((t) => t.text), meta: d.meta }));
    h.update('\n');
  }
  return { documents: docs.length, sha256: h.digest('hex') };
}

/**
 * The fingerprint of a run: `config` as loaded, `settings` the command-line switches that change
 * answers (stage overrides), `docs` the whole input in order.
 */
export function runFingerprint(
  config: Config,
  settings: Record<string, unknown>,
  docs: readonly NerDocument[],
): RunFingerprint {
  const parts: Record<string, string> = {};
  for (const [k, v] of Object.entries(answerRelevant(config))) if (v !== undefined) parts[k] = sha(stable(v));
  parts['command-line stage switches'] = sha(stable(settings));
  return { config: sha(stable(parts)), configParts: parts, input: inputFingerprint(docs) };
}

/** Why `now` does not match `then`, or undefined when it does. */
export function describeMismatch(then: RunFingerprint, now: RunFingerprint): string | undefined {
  const why: string[] = [];
  if (then.config !== now.config) {
    const keys = new Set([...Object.keys(then.configParts ?? {}), ...Object.keys(now.configParts)]);
    const changed = [...keys].filter((k) => then.configParts?.[k] !== now.configParts[k]);
    why.push(
      `the configuration differs${changed.length ? ` (${changed.join(', ')}, or a file named there)` : ''}`,
    );
  }
  if (then.input.sha256 !== now.input.sha256) {
    why.push(
      then.input.documents === now.input.documents
        ? `the input differs (same number of documents, ${now.input.documents}, other content)`
        : `the input differs (${now.input.documents} documents now, ${then.input.documents} then)`,
    );
  }
  return why.length ? why.join('; ') : undefined;
}

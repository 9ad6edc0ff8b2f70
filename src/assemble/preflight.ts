/**
 * Start-up checks of everything a config names, so a run, a server or a worker fails before its
 * first document instead of at it (`--no-preflight` skips them):
 *
 * - every HTTP model answers GET {baseUrl}/models (one attempt, a few seconds: unreachable,
 *   refused, 401, an HTML page instead of JSON are all named);
 * - every local model is a readable GGUF file (its magic bytes checked: a garbage or truncated
 *   download is refused), every LoRA adapter exists;
 * - every file the config names exists: the pool, the CRF of `fusion.slm`, `fusion.dev`, the
 *   domain samples of experts.
 * The response cache is checked where it is opened (its integrity check), also before any work.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Config, ModelConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { EngineError } from '../engines/errors.js';
import { OpenAIEngine } from '../engines/openai.js';

export interface PreflightCheck {
  /** What was checked: `model a`, `pool`, `fusion.slm`, ... */
  what: string;
  ok: boolean;
  /** Why not, for the terminal and the server log (may name paths). */
  error?: string;
  /** Why not, without paths or file contents: what an HTTP body may show. */
  publicError?: string;
  /** The problem is an engine that does not answer (else a file or a setting). */
  engine?: boolean;
}

export interface PreflightReport {
  ok: boolean;
  checks: PreflightCheck[];
}

export interface PreflightOptions {
  /** Time each HTTP model has to answer (default 5000 ms). */
  timeoutMs?: number;
}

const GGUF_MAGIC = 'GGUF';

/** Undefined when `path` is a readable GGUF file, else the problem. */
export function ggufProblem(path: string): string | undefined {
  if (!existsSync(path)) return 'model file not found';
  const st = statSync(path);
  if (!st.isFile()) return 'the model path is not a file';
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(4);
    const n = readSync(fd, head, 0, 4, 0);
    if (n < 4 || head.toString('latin1') !== GGUF_MAGIC)
      return 'not a GGUF file (its first bytes are not "GGUF": a broken download or another format)';
  } catch (e) {
    return `cannot read the model file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return undefined;
}

async function checkModel(m: ModelConfig, timeoutMs: number): Promise<PreflightCheck[]> {
  const what = `model ${m.name}`;
  if (m.engine === 'openai') {
    try {
      await new OpenAIEngine(m).probe(timeoutMs);
      return [{ what, ok: true }];
    } catch (e) {
      const reason = e instanceof EngineError ? (e.reason ?? e.message) : (e as Error).message;
      return [
        {
          what,
          ok: false,
          error: (e as Error).message,
          publicError: reason,
          engine: e instanceof EngineError,
        },
      ];
    }
  }
  const out: PreflightCheck[] = [];
  if (/^(hf:|huggingface:|https?:\/\/)/i.test(m.path)) out.push({ what, ok: true });
  else {
    const problem = ggufProblem(m.path);
    out.push(
      problem
        ? { what, ok: false, error: `${problem}: ${m.path}`, publicError: problem }
        : { what, ok: true },
    );
  }
  for (const [i, l] of (m.lora ?? []).entries())
    if (!existsSync(l.path))
      out.push({
        what: `${what} lora[${i}]`,
        ok: false,
        error: `LoRA adapter not found: ${l.path}`,
        publicError: 'LoRA adapter not found',
      });
  return out;
}

function checkFile(what: string, path: string | undefined, folderOk = false): PreflightCheck[] {
  if (path === undefined) return [];
  if (!existsSync(path))
    return [{ what, ok: false, error: `not found: ${path}`, publicError: `${what}: not found` }];
  if (!folderOk && !statSync(path).isFile())
    return [{ what, ok: false, error: `not a file: ${path}`, publicError: `${what}: not a file` }];
  return [{ what, ok: true }];
}

/** Runs every check (concurrently for the models) and reports each. */
export async function preflight(config: Config, options: PreflightOptions = {}): Promise<PreflightReport> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const models = (await Promise.all(config.models.map((m) => checkModel(m, timeoutMs)))).flat();
  const files = [
    ...checkFile('pool', config.pool, true),
    ...(config.fusion?.slm === undefined
      ? []
      : typeof config.fusion.slm === 'string' || config.fusion.slm.kind === 'crf'
        ? checkFile(
            'fusion.slm',
            typeof config.fusion.slm === 'string' ? config.fusion.slm : config.fusion.slm.path,
          )
        : checkFile('fusion.slm.path', config.fusion.slm.path, true)),
    ...checkFile('fusion.dev', config.fusion?.dev),
    ...(config.experts ?? []).flatMap((x) => [
      ...checkFile(`experts ${x.name} domain.samples`, x.domain?.samples),
      ...(x.lora ?? []).flatMap((l, i) => checkFile(`experts ${x.name} lora[${i}]`, l.path)),
    ]),
  ];
  const checks = [...models, ...files];
  return { ok: checks.every((c) => c.ok), checks };
}

/** Start-up checks failed: every problem is listed. An EngineError when a model does not answer. */
export class PreflightError extends EngineError {
  constructor(
    message: string,
    readonly checks: PreflightCheck[],
  ) {
    super(message, { model: checks.find((c) => c.engine)?.what.replace(/^model /, '') ?? '', attempts: 1 });
    this.name = 'PreflightError';
  }
}

/**
 * Runs the checks and throws when any fails: a PreflightError (an EngineError) when a model does
 * not answer, else a ConfigError (a missing or broken file). The message lists every problem.
 */
export async function assertPreflight(
  config: Config,
  options: PreflightOptions = {},
): Promise<PreflightReport> {
  const report = await preflight(config, options);
  const bad = report.checks.filter((c) => !c.ok);
  if (bad.length === 0) return report;
  const list = bad.map((c) => `  ${c.what}: ${c.error}`).join('\n');
  const message = `start-up checks failed (--no-preflight skips them):\n${list}`;
  if (bad.some((c) => c.engine)) throw new PreflightError(message, bad);
  throw new ConfigError(message);
}

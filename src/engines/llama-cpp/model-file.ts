import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../core/errors.js';

export interface ModelFileOptions {
  /** Folder that holds downloaded `hf:` models (default `$EL4NER_MODEL_DIR` or `~/.cache/el4ner/models`). */
  modelCacheDir?: string;
  /** `'auto'` downloads a missing `hf:` model once; `false` never touches the network. */
  download?: 'auto' | false;
  /** Base URL of the Hugging Face hub (default `$HF_ENDPOINT` or https://huggingface.co). */
  hfEndpoint?: string;
  /** How long the reachability check of the hub may take before we call the machine offline. */
  probeTimeoutMs?: number;
  /** Show a download progress bar on stderr. */
  progress?: boolean;
}

export function isRemoteModelUri(p: string): boolean {
  return /^(hf:|huggingface:|https?:\/\/)/i.test(p);
}

export function defaultModelCacheDir(): string {
  return process.env.EL4NER_MODEL_DIR || path.join(os.homedir(), '.cache', 'el4ner', 'models');
}

/** Resolves a local GGUF path or a remote URI (`hf:<user>/<repo>/<file>.gguf`) to a file on disk. */
export async function resolveModelPath(uriOrPath: string, options: ModelFileOptions = {}): Promise<string> {
  if (!isRemoteModelUri(uriOrPath)) return checkLocalFile(uriOrPath, 'model');

  const directory = path.resolve(options.modelCacheDir ?? defaultModelCacheDir());
  const { resolveModelFile } = await import('node-llama-cpp');
  const endpoint = (options.hfEndpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(
    /\/+$/,
    '',
  );
  const endpoints = { huggingFace: `${endpoint}/` };

  // An already downloaded file needs no network at all.
  try {
    return await resolveModelFile(uriOrPath, { directory, download: false, cli: false, endpoints });
  } catch {
    // not cached: fall through
  }
  const howToFix =
    `Download the GGUF file on a machine with network access and pass it as a local file ` +
    `(path: ./models/<file>.gguf), or copy it into the model cache folder ${directory}.`;
  if (options.download === false)
    throw new ConfigError(
      `model ${uriOrPath} is not in the model cache and downloads are disabled. ${howToFix}`,
    );

  // node-llama-cpp retries a failing download for minutes; find out fast whether the hub is reachable.
  const host = /^https?:\/\//i.test(uriOrPath) ? new URL(uriOrPath).origin : endpoint;
  const unreachable = await probe(host, options.probeTimeoutMs ?? 5000);
  if (unreachable)
    throw new ConfigError(
      `cannot download model ${uriOrPath}: ${host} is unreachable (${unreachable}). ${howToFix}`,
    );
  try {
    return await resolveModelFile(uriOrPath, {
      directory,
      download: 'auto',
      cli: options.progress ?? process.stderr.isTTY === true,
      endpoints,
    });
  } catch (err) {
    throw new ConfigError(`cannot download model ${uriOrPath}: ${(err as Error).message}. ${howToFix}`);
  }
}

/** Returns undefined when the endpoint answers (any HTTP status), else the reason it did not. */
async function probe(endpoint: string, timeoutMs: number): Promise<string | undefined> {
  try {
    await fetch(endpoint, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    return undefined;
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
    return e.cause?.code ?? e.cause?.message ?? e.message;
  }
}

export function checkLocalFile(p: string, what: 'model' | 'LoRA adapter'): string {
  const abs = path.resolve(p);
  if (!existsSync(abs))
    throw new ConfigError(
      `${what} file not found: ${abs}` +
        (what === 'model'
          ? ' (give a local .gguf file, or an hf:<user>/<repo>/<file>.gguf URI to download)'
          : ''),
    );
  if (!statSync(abs).isFile()) throw new ConfigError(`${what} path is not a file: ${abs}`);
  return abs;
}

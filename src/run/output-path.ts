/**
 * One check for every path a command writes: the parent folders are created and the file (or
 * folder) is known to be writable *before* the work starts, so training for minutes or a long run
 * never ends in ENOENT or EACCES. '-' (stdout) and device paths (/dev/stdout, /dev/null, ...)
 * pass as they are.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../core/errors.js';

/** stdout ('-') or a device / process file: written as a stream, never resumed, locked or sidecar'd. */
export function isStreamPath(path: string): boolean {
  if (path === '-') return true;
  const abs = resolve(path);
  if (abs.startsWith('/dev/') || abs.startsWith('/proc/')) return true;
  try {
    const st = statSync(abs);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'permission denied';
  if (err.code === 'EROFS') return 'read-only file system';
  if (err.code === 'ENOTDIR' || err.code === 'EEXIST') return 'a file is in the way of the folder';
  return err.code ?? err.message;
}

function makeFolder(dir: string, path: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new InputError(`cannot create the folder ${dir} for the ${what}: ${reason(e)}`, path);
  }
  if (!statSync(dir).isDirectory())
    throw new InputError(`cannot write the ${what}: ${dir} is a file, not a folder`, path);
}

function writable(target: string, path: string, what: string): void {
  try {
    accessSync(target, constants.W_OK);
  } catch (e) {
    throw new InputError(`cannot write the ${what}: ${reason(e)}`, path);
  }
}

/** Whether two paths name one existing file (also through a link). */
function sameFile(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/**
 * Creates the folders above `path` and checks that the file can be written. Returns `path`.
 * `inputs` (option -> path) are files the command reads: the output may not be one of them, as
 * writing it would destroy them (a model over its training data, tags over the gold).
 */
export function prepareOutputFile(
  path: string,
  what = 'output file',
  inputs: Record<string, string | undefined> = {},
): string {
  if (isStreamPath(path)) return path;
  for (const [option, input] of Object.entries(inputs))
    if (input !== undefined && sameFile(path, input))
      throw new InputError(
        `is also the ${option} file: writing the ${what} would replace it; give another path`,
        path,
      );
  const abs = resolve(path);
  makeFolder(dirname(abs), path, what);
  if (existsSync(abs)) {
    if (statSync(abs).isDirectory())
      throw new InputError(`is a folder; the ${what} must be a file path`, path);
    writable(abs, path, what);
  } else writable(dirname(abs), path, what);
  return path;
}

/** Creates the folder `path` (and its parents) and checks that files can be written in it. */
export function prepareOutputFolder(path: string, what = 'output folder'): string {
  const abs = resolve(path);
  if (existsSync(abs) && !statSync(abs).isDirectory())
    throw new InputError(`is a file; the ${what} must be a folder`, path);
  makeFolder(abs, path, what);
  writable(abs, path, what);
  return path;
}

/**
 * The pool index on disk: typed-array files read straight into place in chunks (no second copy
 * of a large file in memory), documents as JSON lines, and the folder protocol that lets several
 * processes build the same index at once.
 *
 * Folder protocol. `DIR/manifest.json` names one complete data folder `DIR/data-<generation>/`.
 * A builder writes its files into its own `DIR/.tmp-<generation>/` (a unique name: pid, time,
 * random), then, holding `DIR/.lock` for a few milliseconds, renames it to `data-<generation>`,
 * replaces the manifest atomically (unique temp file + rename) and moves every other data folder
 * aside for deletion. Readers take no lock: they read the manifest, then its data folder, and
 * start again when a concurrent publisher removed that folder in between. So two builders racing
 * on one folder both finish, and the folder always holds one whole index (the last published).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeWholeFile } from '../core/write-file.js';

type TypedArray = Float32Array | Int32Array | Int8Array;
type TypedCtor<T extends TypedArray> = { new (n: number): T; BYTES_PER_ELEMENT: number };

const CHUNK = 8 << 20;

/** Reads a little-endian dump of `count` elements into a new typed array, chunk by chunk. */
export async function readTyped<T extends TypedArray>(
  path: string,
  Ctor: TypedCtor<T>,
  count: number,
): Promise<T> {
  const fh = await open(path, 'r');
  try {
    const want = count * Ctor.BYTES_PER_ELEMENT;
    const { size } = await fh.stat();
    if (size !== want) throw new Error(`${path}: ${size} bytes, expected ${want}`);
    const out = new Ctor(count);
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    let at = 0;
    while (at < want) {
      const { bytesRead } = await fh.read(bytes, at, Math.min(CHUNK, want - at), at);
      if (bytesRead === 0) throw new Error(`${path}: file shrank while reading`);
      at += bytesRead;
    }
    return out;
  } finally {
    await fh.close();
  }
}

export async function writeTyped(path: string, a: TypedArray): Promise<void> {
  await writeFile(path, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** One JSON document per line (a pool of a million sentences would not fit one JSON string). */
export async function writeJsonLines(path: string, rows: readonly unknown[]): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let i = 0; i < rows.length; i += 5000) {
      let chunk = '';
      for (const r of rows.slice(i, i + 5000)) chunk += `${JSON.stringify(r)}\n`;
      await fh.write(chunk);
    }
  } finally {
    await fh.close();
  }
}

export async function readJsonLines<T>(path: string): Promise<T[]> {
  const fh = await open(path, 'r');
  const out: T[] = [];
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let rest: Buffer = Buffer.alloc(0);
    let lineNo = 0;
    const take = (line: Buffer) => {
      lineNo++;
      if (line.length === 0) return;
      try {
        out.push(JSON.parse(line.toString('utf8')) as T);
      } catch (err) {
        throw new Error(`${path}:${lineNo}: ${(err as Error).message}`);
      }
    };
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      // Lines split at '\n' bytes, which never occur inside a UTF-8 sequence.
      const data = rest.length
        ? Buffer.concat([rest, buf.subarray(0, bytesRead)])
        : buf.subarray(0, bytesRead);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
        take(data.subarray(start, nl));
        start = nl + 1;
      }
      rest = Buffer.from(data.subarray(start));
    }
    if (rest.length) take(rest);
  } finally {
    await fh.close();
  }
  return out;
}

export function isMissingFile(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LockOptions {
  /** A lock older than this is taken as left by a crashed process (its holder works for ms). */
  staleMs?: number;
  timeoutMs?: number;
}

/** Runs `fn` holding `DIR/.lock` (an exclusive mkdir), for short critical sections. */
export async function withFolderLock<T>(
  dir: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const lock = join(dir, '.lock');
  const staleMs = opts.staleMs ?? 30_000;
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > staleMs) await rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new Error(
          `${lock}: held by another process for ${Math.round(age / 1000)} s; remove it if no el4ner is running`,
        );
      else await sleep(10 + Math.random() * 40);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

export function newGeneration(): string {
  return `${Date.now().toString(36)}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** A data folder this module names (`data-` and a generation), never anything else in the folder. */
function isDataFolder(name: string): boolean {
  return /^data-[0-9a-z]+-\d+-[0-9a-f]{8}$/.test(name);
}

/** Files of the version-1 layout (everything at the top of the folder). */
export const V1_FILES = ['spans.f32', 'span-sentence.i32', 'span-meta.i32', 'sentences.f32', 'docs.json'];
const ABANDONED_TMP_MS = 24 * 3600_000;

/**
 * Publishes a data folder written by `writeData` into `dir`: the manifest text (made by
 * `manifestFor(dataFolderName)`) replaces the current one, and the superseded data is removed.
 */
export async function publishGeneration(
  dir: string,
  writeData: (tmpDir: string) => Promise<void>,
  manifestFor: (dataFolder: string) => string,
  manifestName = 'manifest.json',
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const gen = newGeneration();
  const tmp = join(dir, `.tmp-${gen}`);
  await mkdir(tmp);
  try {
    await writeData(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const data = `data-${gen}`;
  const trash: string[] = [];
  await withFolderLock(dir, async () => {
    await rename(tmp, join(dir, data));
    await writeWholeFile(join(dir, manifestName), manifestFor(data));
    for (const name of await readdir(dir)) {
      if (isDataFolder(name) && name !== data) {
        const t = join(dir, `.trash-${name.slice(5)}`);
        await rename(join(dir, name), t).then(
          () => trash.push(t),
          () => undefined,
        );
      }
    }
  });
  // Outside the lock: deleting a large superseded index may take a while. Clean-up failures
  // (another process cleaning the same folder) never fail a build.
  const quietly = (p: Promise<unknown>) => p.catch(() => undefined);
  for (const t of trash) await quietly(rm(t, { recursive: true, force: true }));
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    if (V1_FILES.includes(name) || V1_FILES.some((f) => name === `${f}.tmp`))
      await quietly(rm(p, { force: true }));
    else if (name.startsWith('.tmp-')) {
      const age = await stat(p).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > ABANDONED_TMP_MS) await quietly(rm(p, { recursive: true, force: true }));
    }
  }
  return data;
}

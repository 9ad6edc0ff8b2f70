/**
 * Bytes to text for every reader, so no input is ever turned silently into U+FFFD or read as text
 * when it is binary:
 * - UTF-8 by default; a UTF-8 byte-order mark is dropped; a UTF-16 one selects UTF-16;
 * - an invalid UTF-8 byte is an error with the file, line and byte offset (give `--encoding` for
 *   files in another encoding: any WHATWG label, e.g. latin1, windows-1252, utf-16le, shift_jis);
 * - a NUL character means binary data: an error with its byte offset.
 * Files (or stdin, '-') are read as a stream of chunks.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream, readFileSync } from 'node:fs';
import { TextDecoder } from 'node:util';
import { InputError } from '../core/errors.js';

export interface DecodeOptions {
  /** A WHATWG encoding label (default utf-8). */
  encoding?: string;
  /**
   * What an invalid-UTF-8 error tells the user to do; the default names --encoding, which a file
   * named in a config (no such option applies to it) replaces.
   */
  remedy?: string;
  /**
   * What the file should be, said when a folder is given instead (the option's hint, e.g.
   * '--unlabeled takes a text file (one sentence or document per line)').
   */
  expects?: string;
}

const GIVE_ENCODING = 'if the file is in another encoding, give it with --encoding (e.g. --encoding latin1)';

const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Normalised encoding name of a label, or an InputError naming the option. */
export function checkEncoding(label: string): string {
  try {
    return new TextDecoder(label).encoding;
  } catch {
    throw new InputError(
      `--encoding ${JSON.stringify(label)} is not an encoding this Node.js knows (e.g. utf-8, latin1, windows-1252, utf-16le, shift_jis)`,
    );
  }
}

/**
 * Offset of the first byte of `buf` that does not start or continue a valid UTF-8 sequence
 * (overlong forms, surrogates and code points above U+10FFFF included), or -1.
 */
export function firstInvalidUtf8(buf: Uint8Array): number {
  const n = buf.length;
  let i = 0;
  while (i < n) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b === 0xe0) [need, lo] = [2, 0xa0];
    else if (b === 0xed) [need, hi] = [2, 0x9f];
    else if (b >= 0xe1 && b <= 0xef) need = 2;
    else if (b === 0xf0) [need, lo] = [3, 0x90];
    else if (b === 0xf4) [need, hi] = [3, 0x8f];
    else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = buf[i + k];
      if (i + k >= n || c < lo || c > hi) return i;
      lo = 0x80;
      hi = 0xbf;
    }
    i += need + 1;
  }
  return -1;
}

/** Length of an incomplete UTF-8 sequence at the end of `buf` (0..3): kept for the next chunk. */
function incompleteTail(buf: Uint8Array): number {
  for (let k = 1; k <= Math.min(3, buf.length); k++) {
    const b = buf[buf.length - k];
    if ((b & 0xc0) === 0x80) continue;
    const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return len > k ? k : 0;
  }
  return 0;
}

function countNewlines(buf: Uint8Array, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) if (buf[i] === 0x0a) n++;
  return n;
}

function chunks(file: string): AsyncIterable<Buffer> {
  return file === '-' ? (process.stdin as AsyncIterable<Buffer>) : createReadStream(file);
}

/** How messages name an input: its path, or stdin for '-'. */
export const inputName = (file: string) => (file === '-' ? 'stdin' : file);

/**
 * The chunks of `source`; a file that cannot be read (a folder, no permission, gone) is an
 * InputError, a folder's saying what the file should be when `expects` tells.
 */
async function* readable(
  source: AsyncIterable<Buffer>,
  name: string,
  expects?: string,
): AsyncGenerator<Buffer> {
  try {
    yield* source;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new InputError(`a folder, not a file${expects ? `; ${expects}` : ''}`, name);
    if (code === 'ENOENT') throw new InputError('no such file', name);
    if (typeof code === 'string') throw new InputError(`cannot read: ${(err as Error).message}`, name);
    throw err;
  }
}

/**
 * The decoded text of a file (or stdin) in pieces, in order. Throws an InputError at the first
 * invalid or binary byte, with the 1-based line and the byte offset from the start of the file.
 */
export async function* decodedPieces(file: string, opts: DecodeOptions = {}): AsyncGenerator<string> {
  const explicit = opts.encoding !== undefined ? checkEncoding(opts.encoding) : undefined;
  const source = chunks(file);
  let encoding = explicit;
  let offset = 0; // bytes of the file before `pending`
  let lines = 1;
  let pending: Buffer = Buffer.alloc(0);
  let decoder: TextDecoder | undefined;
  let started = false;
  const name = inputName(file);

  const binary = (at: string, line: number) =>
    new InputError(
      `binary data: a NUL character ${at}; this is not a text file (or it is UTF-16 without a byte-order mark: give --encoding utf-16le)`,
      name,
      line,
    );

  const utf8 = function* (buf: Buffer, final: boolean): Generator<string> {
    const keep = final ? 0 : incompleteTail(buf);
    const body = keep ? buf.subarray(0, buf.length - keep) : buf;
    const nul = body.indexOf(0);
    const bad = isUtf8(body) ? -1 : Math.max(0, firstInvalidUtf8(body));
    // invalid bytes with a NUL anywhere in the chunk: binary data, reported at its NUL
    const stop = bad >= 0 && nul >= 0 ? nul : [nul, bad].filter((x) => x >= 0).sort((x, y) => x - y)[0];
    if (stop !== undefined) {
      const line = lines + countNewlines(body, stop);
      if (stop === nul) throw binary(`at byte offset ${offset + stop}`, line);
      throw new InputError(
        `not valid UTF-8: byte 0x${body[stop].toString(16).padStart(2, '0')} at byte offset ${offset + stop}; ${opts.remedy ?? GIVE_ENCODING}`,
        name,
        line,
      );
    }
    lines += countNewlines(body, body.length);
    offset += body.length;
    pending = keep ? Buffer.from(buf.subarray(buf.length - keep)) : Buffer.alloc(0);
    if (body.length) yield body.toString('utf8');
  };

  const other = function* (buf: Buffer, final: boolean): Generator<string> {
    decoder ??= new TextDecoder(encoding, { fatal: true });
    let text: string;
    try {
      text = decoder.decode(buf, { stream: !final });
    } catch {
      throw new InputError(
        `not valid ${encoding}: an invalid byte sequence within bytes ${offset}..${offset + buf.length} (check --encoding)`,
        name,
        lines,
      );
    }
    const nul = text.indexOf('\0');
    if (nul >= 0)
      throw binary(
        `within bytes ${offset}..${offset + buf.length}`,
        lines + (text.slice(0, nul).match(/\n/g)?.length ?? 0),
      );
    lines += text.match(/\n/g)?.length ?? 0;
    offset += buf.length;
    if (text) yield text;
  };

  for await (const chunk of readable(source, name, opts.expects)) {
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    pending = Buffer.alloc(0);
    if (!started) {
      if (buf.length < 3 && explicit === undefined) {
        pending = buf; // too short to see a byte-order mark yet
        continue;
      }
      started = true;
      if (explicit === undefined || explicit === 'utf-8') {
        if (UTF8_BOM.every((b, i) => buf[i] === b)) {
          buf = buf.subarray(3);
          offset = 3;
        } else if (explicit === undefined && buf[0] === 0xff && buf[1] === 0xfe) encoding = 'utf-16le';
        else if (explicit === undefined && buf[0] === 0xfe && buf[1] === 0xff) encoding = 'utf-16be';
      }
      encoding ??= 'utf-8';
    }
    yield* encoding === 'utf-8' ? utf8(buf, false) : other(buf, false);
  }
  encoding ??= 'utf-8';
  yield* encoding === 'utf-8' ? utf8(pending, true) : other(pending, true);
}

/**
 * A small file read whole and at once (a config, a list of sample texts) as UTF-8 text, without
 * its byte order mark; invalid UTF-8 is an InputError with the line and byte offset, as for the
 * streamed inputs, and `remedy` says what to do about it.
 */
export function utf8FileText(file: string, remedy: string): string {
  const buf = readFileSync(file);
  const bad = firstInvalidUtf8(buf);
  if (bad >= 0)
    throw new InputError(
      `not valid UTF-8: byte 0x${buf[bad].toString(16).padStart(2, '0')} at byte offset ${bad}; ${remedy}`,
      file,
      countNewlines(buf, bad) + 1,
    );
  const bom = UTF8_BOM.every((b, i) => buf[i] === b) ? UTF8_BOM.length : 0;
  return buf.toString('utf8', bom);
}

/** The whole decoded text of a file (or stdin). */
export async function readDecodedText(file: string, opts: DecodeOptions = {}): Promise<string> {
  let text = '';
  for await (const piece of decodedPieces(file, opts)) text += piece;
  return text;
}

/**
 * Progress for long runs: a bar with rate and ETA on a terminal, plain periodic lines otherwise
 * (logs and CI stay readable): one every 10 s, or every EL4NER_PROGRESS_INTERVAL seconds.
 */
import type { Writable } from 'node:stream';

export interface Progress {
  tick(n?: number): void;
  /** Ends the bar (and shows the cursor again); plain output ends with a line closed by `word`. */
  stop(word?: string): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(r).padStart(2, '0')}s`
      : `${r}s`;
}

export function progressLine(label: string, done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  const pct = total > 0 ? ((100 * done) / total).toFixed(1) : '100.0';
  const eta = rate > 0 ? formatDuration((total - done) / rate) : '?';
  return `${label}: ${done}/${total} (${pct}%) ${rate.toFixed(1)}/s ETA ${eta}`;
}

export interface ProgressOptions {
  total: number;
  label?: string;
  /** Already done before this run (resumed): counted in the bar, not in the rate. */
  initial?: number;
  stream?: Writable & { isTTY?: boolean };
  /** Seconds between plain lines when not a TTY (default: EL4NER_PROGRESS_INTERVAL, else 10). */
  intervalS?: number;
  /** Force plain lines even on a TTY. */
  plain?: boolean;
}

export const PROGRESS_INTERVAL_S = 10;

/** Seconds between plain progress lines: EL4NER_PROGRESS_INTERVAL when it is a number >= 0, else 10. */
export function progressIntervalS(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.EL4NER_PROGRESS_INTERVAL?.trim();
  const n = v ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : PROGRESS_INTERVAL_S;
}

export async function createProgress(opts: ProgressOptions): Promise<Progress> {
  const stream = opts.stream ?? process.stderr;
  const label = opts.label ?? 'documents';
  const start = Date.now();
  const initial = opts.initial ?? 0;
  let done = initial;
  if (stream.isTTY && !opts.plain) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {value}/{total} {percentage}% | {rate}/s | ETA {eta_formatted}`,
        etaBuffer: 50,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(opts.total, initial, { rate: '0.0' });
    // a process that ends another way (an error, process.exit) still gives the cursor back
    const showCursor = () => stream.write('\x1b[?25h');
    process.once('exit', showCursor);
    let stopped = false;
    return {
      tick(n = 1) {
        done += n;
        const rate = ((done - initial) / Math.max(1, Date.now() - start)) * 1000;
        bar.update(done, { rate: rate.toFixed(1) });
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.stop();
        process.off('exit', showCursor);
      },
    };
  }
  const interval = (opts.intervalS ?? progressIntervalS()) * 1000;
  let last = start;
  let stopped = false;
  return {
    tick(n = 1) {
      done += n;
      const now = Date.now();
      if (now - last >= interval && done < opts.total) {
        last = now;
        stream.write(`${progressLine(label, done, opts.total, now - start)}\n`);
      }
    },
    stop(word = 'done') {
      if (stopped) return;
      stopped = true;
      stream.write(`${progressLine(label, done, opts.total, Date.now() - start)} ${word}\n`);
    },
  };
}

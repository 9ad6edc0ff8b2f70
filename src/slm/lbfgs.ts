/**
 * Limited-memory BFGS (Nocedal 1980; two-loop recursion) with a backtracking Armijo line
 * search, on Float64Array. Written here because no maintained npm package offers L-BFGS on
 * typed arrays of millions of parameters (see docs/slm.md).
 *
 * The objective writes its gradient into `g` and returns the value; it may be async so the
 * gradient can be computed in worker threads.
 */

export type Objective = (x: Float64Array, g: Float64Array) => number | Promise<number>;

export interface LbfgsIteration {
  iteration: number;
  value: number;
  gradNorm: number;
  step: number;
  evaluations: number;
  x: Float64Array;
}

export interface LbfgsOptions {
  /** History size m. Default 6. */
  memory?: number;
  /** Default 100. */
  maxIterations?: number;
  /** Stop when ||g|| / max(1, ||x||) < epsilon. Default 1e-5. */
  epsilon?: number;
  /** Stop when (f[k-past] - f[k]) / f[k] < delta. Default 1e-5 over past = 10 iterations. */
  delta?: number;
  past?: number;
  /** Armijo constant. Default 1e-4. */
  ftol?: number;
  /** Maximum evaluations per line search. Default 30. */
  maxLinesearch?: number;
  /** Called after each iteration; return false to stop early. */
  onIteration?: (info: LbfgsIteration) => boolean | undefined | Promise<boolean | undefined>;
}

export type LbfgsStop = 'converged' | 'delta' | 'max-iterations' | 'linesearch-failed' | 'stopped';

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  evaluations: number;
  reason: LbfgsStop;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export async function lbfgs(
  f: Objective,
  x0: Float64Array,
  options: LbfgsOptions = {},
): Promise<LbfgsResult> {
  const m = options.memory ?? 6;
  const maxIter = options.maxIterations ?? 100;
  const eps = options.epsilon ?? 1e-5;
  const delta = options.delta ?? 1e-5;
  const past = options.past ?? 10;
  const ftol = options.ftol ?? 1e-4;
  const maxLs = options.maxLinesearch ?? 30;
  const n = x0.length;

  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const d = new Float64Array(n);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alphaBuf = new Float64Array(m);
  const history: number[] = [];

  let fx = await f(x, g);
  let evaluations = 1;
  if (!Number.isFinite(fx)) throw new Error(`L-BFGS: objective is not finite at the start (${fx})`);
  history.push(fx);
  let gnorm = Math.sqrt(dot(g, g));
  if (gnorm / Math.max(1, Math.sqrt(dot(x, x))) < eps) {
    return { x, value: fx, iterations: 0, evaluations, reason: 'converged' };
  }

  let reason: LbfgsStop = 'max-iterations';
  let iter = 0;
  while (iter < maxIter) {
    // The iterations are CPU-bound: letting the event loop run once per iteration (microseconds
    // against milliseconds or seconds of gradient) is what lets a Ctrl-C handler run at all.
    await new Promise<void>((resolve) => setImmediate(resolve));
    // Two-loop recursion: d = -H g.
    for (let i = 0; i < n; i++) d[i] = -g[i];
    const k = S.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = rho[j] * dot(S[j], d);
      alphaBuf[j] = a;
      const yj = Y[j];
      for (let i = 0; i < n; i++) d[i] -= a * yj[i];
    }
    if (k > 0) {
      const yy = dot(Y[k - 1], Y[k - 1]);
      const gamma = 1 / (rho[k - 1] * yy);
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const b = rho[j] * dot(Y[j], d);
      const coef = alphaBuf[j] - b;
      const sj = S[j];
      for (let i = 0; i < n; i++) d[i] += coef * sj[i];
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = -gnorm * gnorm;
    }

    // Backtracking line search.
    let step = iter === 0 && k === 0 ? 1 / gnorm : 1;
    let fNew = Number.NaN;
    let ok = false;
    for (let ls = 0; ls < maxLs; ls++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * d[i];
      fNew = await f(xNew, gNew);
      evaluations++;
      if (Number.isFinite(fNew) && fNew <= fx + ftol * step * slope) {
        ok = true;
        break;
      }
      step *= 0.5;
    }
    if (!ok) {
      reason = 'linesearch-failed';
      break;
    }
    iter++;

    // Update the history with s = xNew - x, y = gNew - g.
    const s = S.length === m ? (S.shift() as Float64Array) : new Float64Array(n);
    const y = Y.length === m ? (Y.shift() as Float64Array) : new Float64Array(n);
    if (rho.length === m) rho.shift();
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const ys = dot(y, s);
    if (ys > 1e-12) {
      S.push(s);
      Y.push(y);
      rho.push(1 / ys);
    }
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    gnorm = Math.sqrt(dot(g, g));
    history.push(fx);

    const stop = await options.onIteration?.({
      iteration: iter,
      value: fx,
      gradNorm: gnorm,
      step,
      evaluations,
      x,
    });
    if (stop === false) {
      reason = 'stopped';
      break;
    }
    if (gnorm / Math.max(1, Math.sqrt(dot(x, x))) < eps) {
      reason = 'converged';
      break;
    }
    if (history.length > past) {
      const before = history[history.length - 1 - past];
      if ((before - fx) / Math.max(Math.abs(fx), 1e-12) < delta) {
        reason = 'delta';
        break;
      }
    }
  }
  return { x, value: fx, iterations: iter, evaluations, reason };
}

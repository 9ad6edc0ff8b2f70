/**
 * Linear-chain CRF math on typed arrays: state scores, scaled forward-backward, Viterbi,
 * per-token marginals, and the negative log-likelihood with its gradient.
 *
 * Parameter layout (one Float64Array `w`), with L labels and F features:
 *   state  w[f * L + y]            feature f fires with label y
 *   trans  w[F*L + a * L + b]       label a followed by label b
 *   start  w[F*L + L*L + y]         first label
 *   end    w[F*L + L*L + L + y]     last label
 *
 * A sentence is encoded once as feature index arrays (`EncodedSentence`); nothing is
 * allocated per token in the hot loops.
 */

export interface EncodedSentence {
  /** Number of tokens. */
  n: number;
  /** featStart[t] .. featStart[t+1] index `feats` for token t. Length n + 1. */
  featStart: Int32Array;
  feats: Int32Array;
  /** Gold label ids (training only). */
  labels?: Int32Array;
}

/** Training works on Float64 weights, a loaded tagger on Float32 ones. */
export type Weights = Float64Array | Float32Array;

export interface CrfShape {
  numLabels: number;
  numFeatures: number;
}

export function paramCount(shape: CrfShape): number {
  const L = shape.numLabels;
  return shape.numFeatures * L + L * L + 2 * L;
}

/** Scratch buffers sized for the longest sentence; one per thread of work. */
export class CrfWorkspace {
  readonly L: number;
  capacity = 0;
  /** Raw scores s[t*L+y] (state + start/end). */
  scores = new Float64Array(0);
  /** exp(scores - rowMax). */
  psi = new Float64Array(0);
  alpha = new Float64Array(0);
  beta = new Float64Array(0);
  /** Per-position scale factors of the forward pass. */
  scale = new Float64Array(0);
  back = new Int32Array(0);
  expTrans: Float64Array;
  tmp: Float64Array;

  constructor(numLabels: number) {
    this.L = numLabels;
    this.expTrans = new Float64Array(numLabels * numLabels);
    this.tmp = new Float64Array(numLabels);
  }

  ensure(n: number): void {
    if (n <= this.capacity) return;
    const cap = Math.max(n, this.capacity * 2, 16);
    const L = this.L;
    this.scores = new Float64Array(cap * L);
    this.psi = new Float64Array(cap * L);
    this.alpha = new Float64Array(cap * L);
    this.beta = new Float64Array(cap * L);
    this.scale = new Float64Array(cap);
    this.back = new Int32Array(cap * L);
    this.capacity = cap;
  }

  /** Caches exp(transition weights); call whenever `w` changes. */
  prepareTransitions(w: Weights, shape: CrfShape): void {
    const L = shape.numLabels;
    const t0 = shape.numFeatures * L;
    for (let i = 0; i < L * L; i++) this.expTrans[i] = Math.exp(w[t0 + i]);
  }
}

/** Fills ws.scores with state scores plus start/end weights. */
export function computeScores(w: Weights, shape: CrfShape, s: EncodedSentence, ws: CrfWorkspace): void {
  const L = shape.numLabels;
  const F = shape.numFeatures;
  const { n, featStart, feats } = s;
  ws.ensure(n);
  const scores = ws.scores;
  for (let t = 0; t < n; t++) {
    const row = t * L;
    for (let y = 0; y < L; y++) scores[row + y] = 0;
    for (let k = featStart[t]; k < featStart[t + 1]; k++) {
      const f = feats[k];
      if (f < 0 || f >= F) continue;
      const base = f * L;
      for (let y = 0; y < L; y++) scores[row + y] += w[base + y];
    }
  }
  if (n > 0) {
    const s0 = F * L + L * L;
    const e0 = s0 + L;
    const last = (n - 1) * L;
    for (let y = 0; y < L; y++) {
      scores[y] += w[s0 + y];
      scores[last + y] += w[e0 + y];
    }
  }
}

/**
 * Scaled forward-backward over ws.scores (call computeScores and prepareTransitions first).
 * Leaves marginals-ready alpha/beta in the workspace and returns log Z.
 */
export function forwardBackward(n: number, ws: CrfWorkspace): number {
  const L = ws.L;
  const { scores, psi, alpha, beta, scale, expTrans } = ws;
  let logZ = 0;
  for (let t = 0; t < n; t++) {
    const row = t * L;
    let m = Number.NEGATIVE_INFINITY;
    for (let y = 0; y < L; y++) if (scores[row + y] > m) m = scores[row + y];
    for (let y = 0; y < L; y++) psi[row + y] = Math.exp(scores[row + y] - m);
    logZ += m;
  }
  // Forward.
  let c = 0;
  for (let y = 0; y < L; y++) {
    alpha[y] = psi[y];
    c += psi[y];
  }
  for (let y = 0; y < L; y++) alpha[y] /= c;
  scale[0] = c;
  logZ += Math.log(c);
  for (let t = 1; t < n; t++) {
    const prev = (t - 1) * L;
    const row = t * L;
    c = 0;
    for (let b = 0; b < L; b++) {
      let sum = 0;
      for (let a = 0; a < L; a++) sum += alpha[prev + a] * expTrans[a * L + b];
      const v = sum * psi[row + b];
      alpha[row + b] = v;
      c += v;
    }
    for (let b = 0; b < L; b++) alpha[row + b] /= c;
    scale[t] = c;
    logZ += Math.log(c);
  }
  // Backward.
  const lastRow = (n - 1) * L;
  for (let y = 0; y < L; y++) beta[lastRow + y] = 1;
  const tmp = ws.tmp;
  for (let t = n - 2; t >= 0; t--) {
    const row = t * L;
    const next = (t + 1) * L;
    const cn = scale[t + 1];
    for (let b = 0; b < L; b++) tmp[b] = (psi[next + b] * beta[next + b]) / cn;
    for (let a = 0; a < L; a++) {
      let sum = 0;
      const ta = a * L;
      for (let b = 0; b < L; b++) sum += expTrans[ta + b] * tmp[b];
      beta[row + a] = sum;
    }
  }
  return logZ;
}

/** Marginal p(y_t = y) after forwardBackward, written into out (length L). */
export function tokenMarginal(t: number, ws: CrfWorkspace, out: Float64Array): void {
  const L = ws.L;
  const row = t * L;
  let sum = 0;
  for (let y = 0; y < L; y++) {
    const v = ws.alpha[row + y] * ws.beta[row + y];
    out[y] = v;
    sum += v;
  }
  // Exactly 1 up to rounding; renormalise to keep probabilities clean.
  for (let y = 0; y < L; y++) out[y] /= sum;
}

/**
 * After forwardBackward: the probability that tokens `start .. start + path.length - 1` carry
 * exactly the labels of `path` and that the token after them (when there is one) carries none of
 * `notAfter`. With the scaled quantities, p(path) = alpha_s(path_0) * prod_t [T(path_{t-1}, path_t)
 * psi_t(path_t) / c_t] * beta'(path_last), where beta' sums the next position over the allowed
 * labels only (beta itself when the path ends the sentence).
 */
export function segmentProbability(
  ws: CrfWorkspace,
  n: number,
  start: number,
  path: ArrayLike<number>,
  notAfter: ReadonlySet<number> = new Set(),
): number {
  const L = ws.L;
  const { alpha, beta, psi, scale, expTrans } = ws;
  const end = start + path.length;
  if (path.length === 0 || start < 0 || end > n) return 0;
  let p = alpha[start * L + path[0]];
  for (let t = start + 1; t < end; t++) {
    const a = path[t - start - 1];
    const b = path[t - start];
    p *= (expTrans[a * L + b] * psi[t * L + b]) / scale[t];
  }
  const last = path[path.length - 1];
  if (end === n) return p * beta[(n - 1) * L + last];
  let next = 0;
  for (let b = 0; b < L; b++) {
    if (notAfter.has(b)) continue;
    next += expTrans[last * L + b] * psi[end * L + b] * beta[end * L + b];
  }
  return (p * next) / scale[end];
}

/** Viterbi over ws.scores with the transition weights in w; writes label ids into out. Returns the best score. */
export function viterbi(w: Weights, shape: CrfShape, n: number, ws: CrfWorkspace, out: Int32Array): number {
  const L = shape.numLabels;
  const t0 = shape.numFeatures * L;
  const { scores, alpha: delta, back } = ws;
  for (let y = 0; y < L; y++) delta[y] = scores[y];
  for (let t = 1; t < n; t++) {
    const prev = (t - 1) * L;
    const row = t * L;
    for (let b = 0; b < L; b++) {
      let best = Number.NEGATIVE_INFINITY;
      let arg = 0;
      for (let a = 0; a < L; a++) {
        const v = delta[prev + a] + w[t0 + a * L + b];
        if (v > best) {
          best = v;
          arg = a;
        }
      }
      delta[row + b] = best + scores[row + b];
      back[row + b] = arg;
    }
  }
  let best = Number.NEGATIVE_INFINITY;
  let arg = 0;
  const last = (n - 1) * L;
  for (let y = 0; y < L; y++) {
    if (delta[last + y] > best) {
      best = delta[last + y];
      arg = y;
    }
  }
  for (let t = n - 1; t >= 0; t--) {
    out[t] = arg;
    arg = back[t * L + arg];
  }
  return best;
}

/** Unnormalised score of a label sequence (raw weights). */
export function sequenceScore(
  w: Float64Array,
  shape: CrfShape,
  n: number,
  ws: CrfWorkspace,
  labels: Int32Array,
): number {
  const L = shape.numLabels;
  const t0 = shape.numFeatures * L;
  let total = 0;
  for (let t = 0; t < n; t++) {
    total += ws.scores[t * L + labels[t]];
    if (t > 0) total += w[t0 + labels[t - 1] * L + labels[t]];
  }
  return total;
}

/**
 * Adds this sentence's gradient of -log p(gold) into g and returns -log p(gold).
 * `ws.prepareTransitions(w)` must have been called for the current w.
 */
export function sentenceNllGrad(
  w: Float64Array,
  shape: CrfShape,
  s: EncodedSentence,
  ws: CrfWorkspace,
  g: Float64Array,
): number {
  const n = s.n;
  if (n === 0) return 0;
  const labels = s.labels;
  if (!labels) throw new Error('sentence has no gold labels');
  const L = shape.numLabels;
  const F = shape.numFeatures;
  computeScores(w, shape, s, ws);
  const logZ = forwardBackward(n, ws);
  const gold = sequenceScore(w, shape, n, ws, labels);
  const { alpha, beta, psi, scale, expTrans } = ws;
  const { featStart, feats } = s;
  const marg = ws.tmp;
  const t0 = F * L;
  const s0 = t0 + L * L;
  const e0 = s0 + L;
  for (let t = 0; t < n; t++) {
    const row = t * L;
    let sum = 0;
    for (let y = 0; y < L; y++) {
      const v = alpha[row + y] * beta[row + y];
      marg[y] = v;
      sum += v;
    }
    for (let y = 0; y < L; y++) marg[y] /= sum;
    marg[labels[t]] -= 1;
    for (let k = featStart[t]; k < featStart[t + 1]; k++) {
      const f = feats[k];
      if (f < 0 || f >= F) continue;
      const base = f * L;
      for (let y = 0; y < L; y++) g[base + y] += marg[y];
    }
    if (t === 0) for (let y = 0; y < L; y++) g[s0 + y] += marg[y];
    if (t === n - 1) for (let y = 0; y < L; y++) g[e0 + y] += marg[y];
    if (t > 0) {
      const prev = (t - 1) * L;
      const inv = 1 / scale[t];
      for (let a = 0; a < L; a++) {
        const al = alpha[prev + a] * inv;
        const ta = a * L;
        for (let b = 0; b < L; b++) g[t0 + ta + b] += al * expTrans[ta + b] * psi[row + b] * beta[row + b];
      }
      g[t0 + labels[t - 1] * L + labels[t]] -= 1;
    }
  }
  return logZ - gold;
}

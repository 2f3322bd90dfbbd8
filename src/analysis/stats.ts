/**
 * Robust trend statistics: does a memory time series grow without bound?
 *
 * Inputs are series of memory measurements (x = seconds, y = bytes or object counts),
 * 10 to a few thousand points, often irregularly spaced in x. What must NOT look like a
 * leak: warm-up, one-time loads, bounded caches that fill then plateau, sawtooth batches
 * (grow then reset) and noise. What must: a steady leak, even a small one under heavy noise.
 *
 * The building blocks are rank-based and therefore robust to outliers and to the
 * (non-Gaussian, heavy-tailed) noise of RSS and heap measurements:
 *  - Theil–Sen slope with Sen's (1968) rank-based confidence interval,
 *  - the Mann–Kendall trend test (Mann 1945, Kendall 1975) with tie correction,
 *  - a two-segment least-squares change-point to cut off warm-up,
 * combined by {@link trendTest} into one verdict with a plain-language reason.
 *
 * Everything here is pure (no I/O, no global state) and deterministic.
 * Preconditions for all series functions: xs and ys have equal length (otherwise a
 * RangeError is thrown), values are finite, and xs is non-decreasing (time order).
 */

/* ------------------------------------------------------------------------------------ */
/* Tunables (documented where they are used)                                             */
/* ------------------------------------------------------------------------------------ */

/** Theil–Sen uses all pairs among at most this many evenly spaced points (≈45k slopes). */
export const THEIL_SEN_MAX_POINTS = 300;
/** Mann–Kendall is computed on an evenly thinned series of at most this many points. */
export const MANN_KENDALL_MAX_POINTS = 400;
/** Two-sided 95% standard-normal quantile used for Sen's slope interval. */
const Z_95 = 1.959963984540054;

/* ------------------------------------------------------------------------------------ */
/* Basic robust statistics                                                               */
/* ------------------------------------------------------------------------------------ */

/**
 * Median of `values` (NaN for an empty array). The median is the robust location estimate
 * everything else here builds on: half the data can be outliers before it moves arbitrarily.
 * Does not modify its input.
 */
export function median(values: number[]): number {
  return medianOf(values);
}

function medianOf(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(values).sort();
  return sortedMedian(s);
}

function sortedMedian(s: Float64Array): number {
  const n = s.length;
  if (n === 0) return NaN;
  const mid = n >> 1;
  return n % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Median absolute deviation from the median, UNSCALED (multiply by 1.4826 to estimate a
 * Gaussian σ). NaN for an empty array. A robust spread measure: a few spikes (a GC pause, a
 * transient buffer) do not inflate it the way they inflate a standard deviation.
 */
export function mad(values: ArrayLike<number>): number {
  const m = medianOf(values);
  if (Number.isNaN(m)) return NaN;
  const dev = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) dev[i] = Math.abs(values[i]! - m);
  return sortedMedian(dev.sort());
}

/**
 * Robust estimate of the point-to-point measurement noise σ of a series:
 * 1.4826 · MAD(first differences) / √2. Differencing removes any slow trend and the MAD
 * ignores the rare large jumps (resets, one-time loads), so this measures only the jitter
 * between neighbouring samples. 0 for fewer than 3 points.
 */
export function noiseSigma(ys: ArrayLike<number>): number {
  if (ys.length < 3) return 0;
  const d = new Float64Array(ys.length - 1);
  for (let i = 0; i + 1 < ys.length; i++) d[i] = ys[i + 1]! - ys[i]!;
  return (1.4826 * mad(d)) / Math.SQRT2;
}

/**
 * How far off both neighbours a lone point must lie to be a spike: in σ of
 * {@link noiseSigma}, and as a share of the series' range (σ is 0 where most steps are
 * alike, as in a count that goes up and down by one).
 */
const SPIKE_SIGMAS = 6;
const SPIKE_RANGE_SHARE = 0.1;

/**
 * Whether point i is a lone spike: far off both its neighbours, on the same side, while
 * they agree with each other — one snapshot taken in the middle of a burst of temporary
 * allocations, not a level the series moved to.
 */
function isLoneSpike(ys: ArrayLike<number>, i: number, noise: SpikeNoise): boolean {
  if (i <= 0 || i + 1 >= ys.length) return false;
  const fromBefore = ys[i]! - ys[i - 1]!;
  const fromAfter = ys[i]! - ys[i + 1]!;
  const off = Math.min(Math.abs(fromBefore), Math.abs(fromAfter));
  return (
    Math.sign(fromBefore) === Math.sign(fromAfter) &&
    off > Math.max(SPIKE_SIGMAS * noise.sigma, SPIKE_RANGE_SHARE * noise.range) &&
    off > Math.abs(ys[i + 1]! - ys[i - 1]!)
  );
}

/** A series' noise and range, read once for every spike test over it. */
interface SpikeNoise {
  sigma: number;
  range: number;
}

function spikeNoise(ys: ArrayLike<number>): SpikeNoise {
  return { sigma: noiseSigma(ys), range: valueRange(ys) };
}

/** The series with each lone spike ({@link isLoneSpike}) put halfway between its neighbours. */
export function withoutLoneSpikes(ys: number[], noise = spikeNoise(ys)): number[] {
  return ys.map((y, i) => (isLoneSpike(ys, i, noise) ? (ys[i - 1]! + ys[i + 1]!) / 2 : y));
}

/** max − min of a series (0 for an empty one). */
export function valueRange(ys: ArrayLike<number>): number {
  if (ys.length === 0) return 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi - lo;
}

/**
 * Standard normal CDF Φ(z). Hart's (1968) double-precision rational approximation in the
 * form given by G. West, "Better approximations to cumulative normal functions" (Wilmott,
 * 2005): absolute error below 1e-14 over the real line, and the tail is computed directly
 * (no 1 − x cancellation), so tiny one-sided p-values such as Φ(−8) ≈ 6e-16 stay accurate.
 */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const a = Math.abs(z);
  let tail: number; // P(Z > a) = Φ(−a)
  if (a > 37) {
    tail = 0;
  } else {
    const e = Math.exp((-a * a) / 2);
    if (a < 7.07106781186547) {
      let num = 3.52624965998911e-2 * a + 0.700383064443688;
      num = num * a + 6.37396220353165;
      num = num * a + 33.912866078383;
      num = num * a + 112.079291497871;
      num = num * a + 221.213596169931;
      num = num * a + 220.206867912376;
      let den = 8.83883476483184e-2 * a + 1.75566716318264;
      den = den * a + 16.064177579207;
      den = den * a + 86.7807322029461;
      den = den * a + 296.564248779674;
      den = den * a + 637.333633378831;
      den = den * a + 793.826512519948;
      den = den * a + 440.413735824752;
      tail = (e * num) / den;
    } else {
      let b = a + 0.65;
      b = a + 4 / b;
      b = a + 3 / b;
      b = a + 2 / b;
      b = a + 1 / b;
      tail = e / b / 2.506628274631;
    }
  }
  return z > 0 ? 1 - tail : tail;
}

/* ------------------------------------------------------------------------------------ */
/* Internal helpers                                                                      */
/* ------------------------------------------------------------------------------------ */

function checkLengths(xs: ArrayLike<number>, ys: ArrayLike<number>, fn: string): void {
  if (xs.length !== ys.length) {
    throw new RangeError(`${fn}: xs has ${xs.length} values but ys has ${ys.length}`);
  }
}

/** Indices of at most `max` points spread evenly over 0..n-1 (first and last included). */
function evenIndices(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const step = (n - 1) / (max - 1);
  return Array.from({ length: max }, (_, j) => Math.round(j * step));
}

/** Tie statistics of a sample: Σ t(t−1)(2t+5) and Σ t(t−1)/2 over groups of t equal values. */
function tieTerms(values: ArrayLike<number>): { varTerm: number; pairs: number } {
  const s = Float64Array.from(values).sort();
  let varTerm = 0;
  let pairs = 0;
  let i = 0;
  while (i < s.length) {
    let j = i + 1;
    while (j < s.length && s[j] === s[i]) j++;
    const t = j - i;
    if (t > 1) {
      varTerm += t * (t - 1) * (2 * t + 5);
      pairs += (t * (t - 1)) / 2;
    }
    i = j;
  }
  return { varTerm, pairs };
}

function clampInt(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/* ------------------------------------------------------------------------------------ */
/* Theil–Sen                                                                             */
/* ------------------------------------------------------------------------------------ */

export interface TheilSenResult {
  /** Median of the pairwise slopes (units of y per unit of x). */
  slope: number;
  /** median(y − slope·x). */
  intercept: number;
  /** Lower end of the ~95% confidence interval of the slope (Sen 1968). */
  slopeLow: number;
  /** Upper end of the ~95% confidence interval of the slope (Sen 1968). */
  slopeHigh: number;
}

/**
 * Theil–Sen line (Theil 1950, Sen 1968): slope = median of the pairwise slopes
 * (y_j − y_i)/(x_j − x_i), skipping pairs with equal x; intercept = median(y − slope·x).
 * Up to ~29% of the points can be arbitrary outliers without moving the slope much, which is
 * why it is used here instead of least squares (RSS spikes, GC pauses, one-off buffers).
 * Works with irregularly spaced x.
 *
 * Confidence interval: Sen's (1968) rank-based ~95% interval. With N pairwise slopes sorted
 * ascending and Var(S) the Mann–Kendall variance (tie-corrected for ties in x and in y),
 * C = 1.96·√Var(S), M1 = (N − C)/2, M2 = (N + C)/2; the bounds are the M1-th and
 * (M2+1)-th smallest slopes (1-based, rounded as in scipy.stats.theilslopes, clamped to the
 * available slopes).
 *
 * Speed: for more than {@link THEIL_SEN_MAX_POINTS} points the slope and its interval use
 * all pairs among that many evenly spaced points (deterministic; O(300²) ≈ 45k slopes, a few
 * ms for any n). The interval is then that of the subsample — slightly wider, i.e.
 * conservative. The intercept always uses every point.
 *
 * Degenerate input (fewer than two distinct x values): every field is NaN.
 */
export function theilSen(xs: number[], ys: number[]): TheilSenResult {
  checkLengths(xs, ys, "theilSen");
  const nan = { slope: NaN, intercept: NaN, slopeLow: NaN, slopeHigh: NaN };
  const idx = evenIndices(xs.length, THEIL_SEN_MAX_POINTS);
  const m = idx.length;
  const px = Float64Array.from(idx, (i) => xs[i]!);
  const py = Float64Array.from(idx, (i) => ys[i]!);
  const slopes = new Float64Array((m * (m - 1)) / 2);
  let count = 0;
  for (let i = 0; i < m; i++) {
    const xi = px[i]!;
    const yi = py[i]!;
    for (let j = i + 1; j < m; j++) {
      const dx = px[j]! - xi;
      if (dx !== 0) slopes[count++] = (py[j]! - yi) / dx;
    }
  }
  if (count === 0) return nan;
  const sorted = slopes.subarray(0, count).sort();
  const slope = sortedMedian(sorted);

  const resid = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) resid[i] = ys[i]! - slope * xs[i]!;
  const intercept = medianOf(resid);

  const varS = (m * (m - 1) * (2 * m + 5) - tieTerms(px).varTerm - tieTerms(py).varTerm) / 18;
  const c = Z_95 * Math.sqrt(Math.max(0, varS));
  const lo = clampInt(Math.round((count - c) / 2) - 1, 0, count - 1);
  const hi = clampInt(Math.round((count + c) / 2), 0, count - 1);
  return { slope, intercept, slopeLow: sorted[lo]!, slopeHigh: sorted[hi]! };
}

/* ------------------------------------------------------------------------------------ */
/* Mann–Kendall                                                                          */
/* ------------------------------------------------------------------------------------ */

export interface MannKendallResult {
  /** Kendall's S = Σ_{i<j} sign(y_j − y_i). */
  s: number;
  /** Continuity-corrected normal score of S. */
  z: number;
  /** One-sided p-value for an INCREASING trend: P(Z ≥ z). */
  p: number;
  /** Kendall's tau-b between y and time order (ties in y accounted for). */
  tau: number;
}

/**
 * Mann–Kendall trend test (Mann 1945; Kendall 1975): a rank test for a monotonic trend that
 * assumes nothing about the shape of the trend or the noise distribution, so a heavy-tailed
 * or quantised memory signal does not fool it. Uses only the order of ys (x spacing is
 * ignored — Theil–Sen handles spacing).
 *
 * Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18 with the sum over groups of t tied values;
 * z = (S − 1)/√Var(S) if S > 0, (S + 1)/√Var(S) if S < 0, else 0 (continuity correction);
 * p = 1 − Φ(z), the upper tail (one-sided test for growth).
 * tau = S / √(n0·(n0 − n1)), n0 = n(n−1)/2, n1 = Σ t(t−1)/2 (tau-b; time has no ties).
 *
 * For n > {@link MANN_KENDALL_MAX_POINTS} the test runs on an evenly thinned series of that
 * many points (every ~n/400-th sample, first and last kept), keeping the O(n²) pair count at
 * ≈ 80k. Thinning loses a little power but a trend strong enough to matter in 2000 samples
 * is still overwhelming in 400 of them, and thinning also weakens the effect of
 * short-range autocorrelation, which otherwise makes the test over-confident.
 *
 * Degenerate input (n < 2, or all values tied): s = 0, z = 0, p = 0.5, tau = 0.
 */
export function mannKendall(ys: number[]): MannKendallResult {
  const idx = evenIndices(ys.length, MANN_KENDALL_MAX_POINTS);
  const v = Float64Array.from(idx, (i) => ys[i]!);
  const n = v.length;
  if (n < 2) return { s: 0, z: 0, p: 0.5, tau: 0 };
  let s = 0;
  for (let i = 0; i < n; i++) {
    const vi = v[i]!;
    for (let j = i + 1; j < n; j++) {
      const d = v[j]! - vi;
      if (d > 0) s++;
      else if (d < 0) s--;
    }
  }
  const ties = tieTerms(v);
  const varS = (n * (n - 1) * (2 * n + 5) - ties.varTerm) / 18;
  let z = 0;
  if (varS > 0) {
    if (s > 0) z = (s - 1) / Math.sqrt(varS);
    else if (s < 0) z = (s + 1) / Math.sqrt(varS);
  }
  const n0 = (n * (n - 1)) / 2;
  const denom = Math.sqrt(n0 * (n0 - ties.pairs));
  return { s, z, p: normalCdf(-z), tau: denom > 0 ? s / denom : 0 };
}

/* ------------------------------------------------------------------------------------ */
/* Warm-up change-point                                                                  */
/* ------------------------------------------------------------------------------------ */

/** Minimum number of points warmupEnd leaves after the warm-up: max(8, ceil(40% of n)). */
function minPointsAfterWarmup(n: number): number {
  return Math.max(8, Math.ceil(0.4 * n));
}

/**
 * Index where the series leaves warm-up, so the rest can be tested on its own.
 *
 * Method: a two-segment change-point. For every split k with k ≥ 3, k between 10% and 60%
 * of the points, and at least max(8, 40% of n) points from k on, fit a least-squares line to
 * points [0, k) and one to [k, n) and take the k with the smallest total squared error
 * (O(n) overall, via prefix sums of centred data). The split is accepted only if it cuts the
 * error of a single line through everything by more than 30% — i.e. the start really behaves
 * differently (interpreter start-up, imports, a cache filling, a one-time load). Otherwise
 * the default of floor(10% of n) is returned: the first samples of a process are nearly
 * always start-up, and dropping 10% costs little power. Lone spikes ({@link isLoneSpike})
 * are left out of the fit, and the tested part never begins on one.
 *
 * Always returns an index in [0, n−1] (0 for n ≤ 1) that leaves at least max(8, 40% of n)
 * points after it whenever n allows it (for n < 8 it returns 0).
 */
export function warmupEnd(xs: number[], spiky: number[]): number {
  checkLengths(xs, spiky, "warmupEnd");
  // A lone spike pulls a least-squares split towards itself (it lies at a segment's end,
  // where a line bends to it most): seen as a split just at a spike, whose first point then
  // outweighed a steady growth in Mann–Kendall. The split is found without them.
  const noise = spikeNoise(spiky);
  const ys = withoutLoneSpikes(spiky, noise);
  const n = xs.length;
  if (n <= 1) return 0;
  const minAfter = minPointsAfterWarmup(n);
  const maxStart = Math.max(0, n - minAfter);
  const fallback = Math.min(Math.floor(0.1 * n), maxStart);
  const kLo = Math.max(3, Math.ceil(0.1 * n));
  const kHi = Math.min(Math.floor(0.6 * n), maxStart);
  if (kLo > kHi) return pastSpike(spiky, fallback, maxStart, noise);

  // Prefix sums of centred data (centring keeps the sums well conditioned for byte counts).
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  const S = new Float64Array(n + 1);
  const Sx = new Float64Array(n + 1);
  const Sy = new Float64Array(n + 1);
  const Sxx = new Float64Array(n + 1);
  const Sxy = new Float64Array(n + 1);
  const Syy = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const x = xs[i]! - mx;
    const y = ys[i]! - my;
    S[i + 1] = S[i]! + 1;
    Sx[i + 1] = Sx[i]! + x;
    Sy[i + 1] = Sy[i]! + y;
    Sxx[i + 1] = Sxx[i]! + x * x;
    Sxy[i + 1] = Sxy[i]! + x * y;
    Syy[i + 1] = Syy[i]! + y * y;
  }
  /** Residual sum of squares of the least-squares line through points [a, b). */
  const sse = (a: number, b: number): number => {
    const c = S[b]! - S[a]!;
    if (c <= 0) return 0;
    const sx = Sx[b]! - Sx[a]!;
    const sy = Sy[b]! - Sy[a]!;
    const vxx = Sxx[b]! - Sxx[a]! - (sx * sx) / c;
    const vxy = Sxy[b]! - Sxy[a]! - (sx * sy) / c;
    const vyy = Syy[b]! - Syy[a]! - (sy * sy) / c;
    const r = vxx > 0 ? vyy - (vxy * vxy) / vxx : vyy; // all x equal: constant fit
    return Math.max(0, r);
  };

  const total = sse(0, n);
  if (!(total > 0)) return pastSpike(spiky, fallback, maxStart, noise);
  let bestK = -1;
  let best = Infinity;
  for (let k = kLo; k <= kHi; k++) {
    const e = sse(0, k) + sse(k, n);
    if (e < best) {
      best = e;
      bestK = k;
    }
  }
  return pastSpike(spiky, bestK >= 0 && best < 0.7 * total ? bestK : fallback, maxStart, noise);
}

/** A tested part never begins on a lone spike: Mann–Kendall weighs its first point against every later one. */
function pastSpike(ys: number[], start: number, maxStart: number, noise: SpikeNoise): number {
  let k = start;
  while (k < maxStart && isLoneSpike(ys, k, noise)) k++;
  return k;
}

/* ------------------------------------------------------------------------------------ */
/* The verdict                                                                           */
/* ------------------------------------------------------------------------------------ */

export interface TrendResult {
  /** The series grows without bound, after warm-up, by the tests in {@link trendTest}. */
  growing: boolean;
  /** Theil–Sen slope after warm-up (units of y per unit of x). */
  slope: number;
  slopeLow: number;
  slopeHigh: number;
  /** Mann–Kendall one-sided p after warm-up. */
  p: number;
  tau: number;
  /** Index where the tested part begins (warm-up end). */
  start: number;
  /** The tested part's last third is flat relative to its first part (a cache that filled, a one-time load). */
  plateau: boolean;
  /** Large drops recur: the series resets (batches flushed). */
  sawtooth: boolean;
  /** Theil–Sen slope of the last third of the tested part. */
  lastThirdSlope: number;
  /** One short plain-language sentence why growing is true/false. */
  reason: string;
}

/** Decision thresholds of {@link trendTest}; see its comment for the reasoning. */
export const TREND_THRESHOLDS = {
  /** Mann–Kendall p on the tested part must be below this. */
  pGrowing: 0.01,
  /** Below this p the trend is accepted even if small relative to the noise. */
  pOverwhelming: 1e-6,
  /** Last third's Theil–Sen slope must be at least this fraction of the whole slope. */
  lastThirdSlopeFraction: 0.35,
  /** Last third's own Mann–Kendall p (tested when it has ≥ 8 points). */
  pLastThird: 0.05,
  /** Decelerated: last third's slopeHigh < this × first third's slopeLow. */
  decelerationFactor: 0.5,
  /** Rise over the span must exceed this many MADs of the residuals. */
  riseOverMad: 3,
  /** A drop counts as a reset when larger than this fraction of max − min… */
  dropRangeFraction: 0.5,
  /** …and larger than this many noise σ (so noise alone never makes a sawtooth). */
  dropNoiseSigmas: 7,
  /** Troughs needed to judge a sawtooth (4 is the fewest for which MK p < 0.05 is possible). */
  minTroughs: 4,
  /** Mann–Kendall p on the troughs of a sawtooth. */
  pTroughs: 0.05,
} as const;

interface Drop {
  /** Index of the peak the descent starts from. */
  from: number;
  /** Index where the descent ends. */
  to: number;
}

/**
 * Resets: maximal runs of consecutive decreases whose total fall exceeds `threshold`.
 * A run (rather than a single step) catches a flush that takes two or three samples.
 *
 * A fall is only a reset when the level was high before it and stays low after it:
 * - built up: the median of the three samples before the peak is nearer the peak than the
 *   post-drop value (above it by more than half the fall). Upward spikes (a temporary buffer,
 *   an RSS blip of a sample or two, even two spikes close together) fail this: they rise from
 *   and fall back to the same level at once.
 * - stays down: the median of the (up to) three samples after the fall is nearer the
 *   post-drop value than the peak. Downward spikes, and falls from an upward outlier to a
 *   downward one, fail this.
 * A clean linear tooth needs six or more samples to pass both. Fast oscillations are left
 * to the rank tests, which are not fooled by them; the trough logic is only needed for slow teeth, where
 * the phase at which the run stops dominates the raw slope.
 */
function findDrops(ys: number[], threshold: number): Drop[] {
  const out: Drop[] = [];
  const n = ys.length;
  let i = 0;
  while (i + 1 < n) {
    if (ys[i + 1]! < ys[i]!) {
      let j = i + 1;
      while (j + 1 < n && ys[j + 1]! < ys[j]!) j++;
      const low = ys[j]!;
      const fall = ys[i]! - low;
      const after = ys.slice(j + 1, j + 4);
      const builtUp = i >= 3 && medianOf(ys.slice(i - 3, i)) > low + 0.5 * fall;
      const staysDown = after.length === 0 || medianOf(after) < low + 0.5 * fall;
      if (fall > threshold && builtUp && staysDown) out.push({ from: i, to: j });
      i = j;
    } else {
      i++;
    }
  }
  return out;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-2)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

function fmtP(p: number): string {
  return p < 1e-3 ? p.toExponential(1) : p.toFixed(3);
}

/**
 * Decide whether a memory series grows without bound.
 *
 * 1. Cut warm-up with {@link warmupEnd}; everything below is about the tested part
 *    xs[start..], ys[start..]. Fewer than `minPoints` (default 8) tested points → not
 *    growing, reason "too few samples". A constant tested part → not growing.
 * 2. Sawtooth: a drop is a run of decreases falling by more than 50% of the tested part's
 *    max − min AND by more than 7 noise σ ({@link noiseSigma}; without this a noisy flat or
 *    slowly leaking series has many "drops" of half its small range), from a peak that built
 *    up before it and stays low after it (spikes are not resets; see findDrops).
 *    Two or more drops make a sawtooth. A sawtooth's raw slope depends on where the run happens
 *    to stop, so it is judged by its troughs instead — the minimum before the first drop and
 *    the minimum of each cycle after a drop: it grows (a leak hidden under batch flushes) only
 *    if there are ≥ 4 troughs (≥ 3 resets), their Mann–Kendall p < 0.05, their Theil–Sen
 *    slope > 0, their rise over their span exceeds 3 × max(MAD of the trough residuals,
 *    noise σ), and the later half of the troughs still rises (slope ≥ 35% of the troughs'
 *    slope). Otherwise it is bounded batching (including 2–3 resets: too few to tell).
 *    A single drop (sawtooth = false) is not growth if the minimum after it is back at the
 *    minimum before it (within max(3σ, 10% of the range)): without this a two-tooth sawtooth
 *    whose last tooth fills the last third would pass the tests below. If the floor did rise
 *    (e.g. a short burst on top of a leak, or a leak under two batches), the tests below
 *    decide. (A big one-time free early on is usually cut off as warm-up, since the
 *    change-point prefers to split there.)
 * 3. Otherwise growing requires all of:
 *    - Mann–Kendall p < 0.01 (one-sided; strict because many series are tested per run),
 *    - Sen's 95% slope interval entirely above 0 (slopeLow > 0),
 *    - the last third still rising: its Theil–Sen slope ≥ 35% of the whole slope and, when it
 *      has ≥ 8 points, its own Mann–Kendall p < 0.05, and it has not clearly decelerated (its
 *      slopeHigh is not below half of the first third's slopeLow). This is what rejects
 *      a bounded cache that fills then plateaus, a one-time load, and a warm-up that levels
 *      off late: those have a strong overall trend but a flat end, whereas a leak keeps going.
 *      The deceleration check matters when the warm-up cut lands before the fill finished: the
 *      whole-part slope is then small (mostly plateau), so "≥ 35% of it" is easy to meet by
 *      noise, but the first third's slope is far steeper than the last third's. For a steady
 *      leak that needs two 95% intervals to miss the truth by a wide margin at once (in
 *      simulations: 0 of 1000 noisy leaks, versus ~0.3% with the factor 1 instead of 0.5).
 *    - a non-trivial rise: slope × span > 3 × MAD of the residuals around the Theil–Sen line,
 *      OR p < 1e-6. Rank tests only say a trend exists, not that it matters; with
 *      autocorrelated or quantised noise they also get over-confident, so a rise that stays
 *      inside the noise band (~2σ) is not called a leak. A long, very significant trend
 *      (p < 1e-6) is accepted anyway: a real slow leak under heavy noise (e.g. +5% over a noisy
 *      baseline in a long run) is exactly what must be caught, and at that significance
 *      level noise is no longer a plausible explanation.
 *
 * `plateau` reports that the tested part rose significantly (p < 0.01, slopeLow > 0) but its
 * last third did not keep rising (the "levels off" case above); `sawtooth` that resets recur
 * (≥ 2 drops). The slope fields always describe the whole tested part, even when a sawtooth
 * is judged by its troughs (the reason then states the trough growth rate).
 *
 * xs must be non-decreasing; x is assumed to be seconds in the reason text.
 */
export function trendTest(xs: number[], ys: number[], opts: { minPoints?: number } = {}): TrendResult {
  checkLengths(xs, ys, "trendTest");
  const T = TREND_THRESHOLDS;
  const minPoints = Math.max(3, opts.minPoints ?? 8);
  const start = warmupEnd(xs, ys);
  const tx = xs.slice(start);
  const ty = ys.slice(start);
  const m = tx.length;

  const ts = theilSen(tx, ty);
  const mk = mannKendall(ty);
  const thirdLen = Math.max(2, Math.ceil(m / 3));
  const lx = tx.slice(Math.max(0, m - thirdLen));
  const ly = ty.slice(Math.max(0, m - thirdLen));
  const lastTs = theilSen(lx, ly);
  const lastMk = ly.length >= 8 ? mannKendall(ly) : null;
  const fx = tx.slice(0, Math.min(m, thirdLen));
  const fy = ty.slice(0, Math.min(m, thirdLen));
  const firstTs = theilSen(fx, fy);
  // Deceleration: the last third's whole 95% slope interval lies below half the first
  // third's lower bound.
  const decelerating = lastTs.slopeHigh < T.decelerationFactor * firstTs.slopeLow;
  const lastRising =
    lastTs.slope >= T.lastThirdSlopeFraction * ts.slope &&
    (lastMk === null || lastMk.p < T.pLastThird) &&
    !decelerating;
  const plateau = m >= minPoints && mk.p < T.pGrowing && ts.slopeLow > 0 && !lastRising;

  const range = valueRange(ty);
  const sigma = noiseSigma(ty);
  const drops = range > 0 ? findDrops(ty, Math.max(T.dropRangeFraction * range, T.dropNoiseSigmas * sigma)) : [];
  const sawtooth = m >= minPoints && drops.length >= 2;

  const result = (growing: boolean, reason: string): TrendResult => ({
    growing,
    slope: ts.slope,
    slopeLow: ts.slopeLow,
    slopeHigh: ts.slopeHigh,
    p: mk.p,
    tau: mk.tau,
    start,
    plateau,
    sawtooth,
    lastThirdSlope: lastTs.slope,
    reason,
  });

  if (m < minPoints) return result(false, "too few samples");
  if (range === 0) return result(false, "The series is constant.");

  // Troughs: the minimum before the first reset, then the minimum of each cycle after one.
  const trX: number[] = [];
  const trY: number[] = [];
  const addMin = (a: number, b: number): void => {
    let best = a;
    for (let j = a; j <= b; j++) if (ty[j]! < ty[best]!) best = j;
    trX.push(tx[best]!);
    trY.push(ty[best]!);
  };
  if (drops.length > 0) {
    addMin(0, drops[0]!.from);
    drops.forEach((d, i) => addMin(d.to, drops[i + 1]?.from ?? m - 1));
  }

  if (drops.length === 1 && !(trY[1]! - trY[0]! > Math.max(3 * sigma, 0.1 * range))) {
    return result(false, "It fell back sharply to its earlier floor (a reset), so it does not grow steadily.");
  }
  if (drops.length >= 2) {
    const k = trX.length;
    if (k < T.minTroughs) {
      return result(false, `It resets repeatedly (sawtooth), with too few cycles (${k}) to tell whether its troughs rise.`);
    }
    const tts = theilSen(trX, trY);
    const tmk = mannKendall(trY);
    const tResid = trY.map((y, i) => Math.abs(y - (tts.intercept + tts.slope * trX[i]!)));
    const tRise = tts.slope * (trX[k - 1]! - trX[0]!);
    const half = Math.ceil(k / 2);
    const lateTs = theilSen(trX.slice(k - half), trY.slice(k - half));
    const troughsGrow =
      tmk.p < T.pTroughs &&
      tts.slope > 0 &&
      tRise > T.riseOverMad * Math.max(median(tResid), sigma) &&
      lateTs.slope >= T.lastThirdSlopeFraction * tts.slope;
    return troughsGrow
      ? result(true, `It resets repeatedly (sawtooth), but its troughs keep rising: about ${fmt(tts.slope)} per second (p = ${fmtP(tmk.p)}).`)
      : result(false, "It resets repeatedly (sawtooth) and its troughs do not rise steadily: bounded batches, not a leak.");
  }

  if (!(mk.p < T.pGrowing)) {
    return result(false, `No significant upward trend after warm-up (Mann–Kendall p = ${fmtP(mk.p)}).`);
  }
  if (!(ts.slopeLow > 0)) {
    return result(false, "The upward trend is uncertain: the slope's 95% interval includes zero.");
  }
  if (!lastRising) {
    return result(false, "It levels off: the last third is flat, as with a cache that filled or a one-time load.");
  }
  const resid = ty.map((y, i) => Math.abs(y - (ts.intercept + ts.slope * tx[i]!)));
  const rise = ts.slope * (tx[m - 1]! - tx[0]!);
  if (!(rise > T.riseOverMad * median(resid) || mk.p < T.pOverwhelming)) {
    return result(false, "The rise is too small relative to the noise to call it a leak.");
  }
  return result(true, `It grows steadily at about ${fmt(ts.slope)} per second after warm-up (Mann–Kendall p = ${fmtP(mk.p)}).`);
}

import { describe, it, expect } from "vitest";
import {
  mad,
  mannKendall,
  median,
  noiseSigma,
  normalCdf,
  theilSen,
  trendTest,
  warmupEnd,
  withoutLoneSpikes,
} from "../../src/analysis/stats.js";

/* ---------------------------------------------------------------------------------------- */
/* Deterministic test data                                                                   */
/* ---------------------------------------------------------------------------------------- */

/** mulberry32: tiny seeded PRNG, uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviate (Box–Muller). */
function gauss(rng: () => number): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** n irregularly spaced sample times: gaps uniform in [0.5, 1.5) × dt. */
function irregularTimes(n: number, rng: () => number, dt = 1): number[] {
  const xs: number[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    xs.push(t);
    t += dt * (0.5 + rng());
  }
  return xs;
}

const MB = 1024 * 1024;
const SEEDS = [1, 2, 3, 4, 5];

/** A series built from sample times and a function of (x, index, rng). */
function series(
  seed: number,
  n: number,
  f: (x: number, i: number, rng: () => number, span: number) => number,
): { xs: number[]; ys: number[] } {
  const rng = mulberry32(seed);
  const xs = irregularTimes(n, rng);
  const span = xs[n - 1]!;
  return { xs, ys: xs.map((x, i) => f(x, i, rng, span)) };
}

/* ---------------------------------------------------------------------------------------- */
/* Basic statistics                                                                          */
/* ---------------------------------------------------------------------------------------- */

describe("median / mad / noiseSigma", () => {
  it("computes the median of odd and even lengths, NaN for empty, without mutating", () => {
    const v = [5, 1, 4, 2, 3];
    expect(median(v)).toBe(3);
    expect(v).toEqual([5, 1, 4, 2, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([-7])).toBe(-7);
    expect(median([])).toBeNaN();
  });

  it("computes the unscaled MAD", () => {
    // median 3, deviations [2,1,0,1,97] → median 1
    expect(mad([1, 2, 3, 4, 100])).toBe(1);
    expect(mad([])).toBeNaN();
  });

  it("estimates point noise while ignoring a trend", () => {
    const rng = mulberry32(7);
    const ys = Array.from({ length: 2000 }, (_, i) => 1000 * i + 10 * gauss(rng));
    expect(noiseSigma(ys)).toBeGreaterThan(9);
    expect(noiseSigma(ys)).toBeLessThan(11);
    expect(noiseSigma([1, 2, 3, 4, 5])).toBe(0);
  });
});

describe("normalCdf", () => {
  it("matches reference values to better than 1e-7", () => {
    // references: 0.5 * erfc(-z / sqrt(2)) in double precision
    expect(normalCdf(0)).toBe(0.5);
    expect(Math.abs(normalCdf(1.96) - 0.9750021048517795)).toBeLessThan(1e-9);
    expect(Math.abs(normalCdf(-3) - 0.0013498980316300957)).toBeLessThan(1e-12);
    expect(Math.abs(normalCdf(3) - 0.9986501019683699)).toBeLessThan(1e-12);
    expect(Math.abs(normalCdf(-1) - 0.15865525393145707)).toBeLessThan(1e-12);
    expect(Math.abs(normalCdf(0.5) - 0.6914624612740131)).toBeLessThan(1e-12);
  });

  it("keeps relative accuracy deep in the lower tail", () => {
    expect(normalCdf(-8) / 6.220960574271819e-16).toBeCloseTo(1, 6);
    expect(normalCdf(-12) / 1.776482112077702e-33).toBeCloseTo(1, 6);
    expect(normalCdf(-40)).toBe(0);
    expect(normalCdf(40)).toBe(1);
  });

  it("is symmetric: Φ(z) + Φ(−z) = 1", () => {
    for (const z of [0.1, 0.7, 1.3, 2.2, 4.5, 7.5]) {
      expect(normalCdf(z) + normalCdf(-z)).toBeCloseTo(1, 14);
    }
  });
});

/* ---------------------------------------------------------------------------------------- */
/* Theil–Sen                                                                                 */
/* ---------------------------------------------------------------------------------------- */

describe("theilSen", () => {
  it("recovers the exact slope and intercept of a noiseless line (irregular x)", () => {
    const rng = mulberry32(11);
    const xs = irregularTimes(50, rng);
    const ys = xs.map((x) => 3.5 * x + 12);
    const r = theilSen(xs, ys);
    expect(r.slope).toBeCloseTo(3.5, 10);
    expect(r.intercept).toBeCloseTo(12, 8);
    // every pairwise slope is the same, so the interval collapses onto it
    expect(r.slopeLow).toBeCloseTo(3.5, 10);
    expect(r.slopeHigh).toBeCloseTo(3.5, 10);
  });

  it("skips pairs with equal x", () => {
    const xs = [0, 1, 1, 2, 2, 3, 4, 4];
    const ys = xs.map((x) => -2 * x + 1);
    const r = theilSen(xs, ys);
    expect(r.slope).toBeCloseTo(-2, 12);
    expect(r.intercept).toBeCloseTo(1, 12);
  });

  it("shrugs off 20% gross outliers", () => {
    const rng = mulberry32(5);
    const xs = Array.from({ length: 100 }, (_, i) => i);
    const ys = xs.map((x) => 2 * x + (rng() < 0.2 ? 1e6 : 0) + gauss(rng));
    const r = theilSen(xs, ys);
    expect(r.slope).toBeGreaterThan(1.8);
    expect(r.slope).toBeLessThan(2.6);
  });

  it("gives an interval that contains the true slope under noise, in most seeds", () => {
    let covered = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const { xs, ys } = series(seed, 60, (x, _i, rng) => 0.8 * x + 5 * gauss(rng));
      const r = theilSen(xs, ys);
      expect(r.slopeLow).toBeLessThanOrEqual(r.slope);
      expect(r.slopeHigh).toBeGreaterThanOrEqual(r.slope);
      if (r.slopeLow <= 0.8 && 0.8 <= r.slopeHigh) covered++;
    }
    // nominal 95% → 38 of 40 expected
    expect(covered).toBeGreaterThanOrEqual(35);
  });

  it("subsamples long series but still estimates slope and interval well", () => {
    const { xs, ys } = series(3, 2000, (x, _i, rng) => 50 * x + 1e4 * gauss(rng));
    const r = theilSen(xs, ys);
    expect(r.slopeLow).toBeLessThan(50);
    expect(r.slopeHigh).toBeGreaterThan(50);
    expect(Math.abs(r.slope - 50)).toBeLessThan(5);
    expect(r.slopeHigh - r.slopeLow).toBeLessThan(15);
  });

  it("returns NaN when no two x values differ, and rejects mismatched lengths", () => {
    const r = theilSen([1, 1, 1], [1, 2, 3]);
    expect(r.slope).toBeNaN();
    expect(r.slopeLow).toBeNaN();
    expect(() => theilSen([1, 2], [1])).toThrow(RangeError);
  });
});

/* ---------------------------------------------------------------------------------------- */
/* Mann–Kendall                                                                              */
/* ---------------------------------------------------------------------------------------- */

describe("mannKendall", () => {
  it("matches a hand computation without ties", () => {
    // S = 10, Var(S) = 5·4·15/18, z = 9/√Var(S)
    const r = mannKendall([1, 2, 3, 4, 5]);
    expect(r.s).toBe(10);
    expect(r.z).toBeCloseTo(9 / Math.sqrt(50 / 3), 12);
    expect(r.p).toBeCloseTo(normalCdf(-9 / Math.sqrt(50 / 3)), 12);
    expect(r.p).toBeCloseTo(0.013742, 5);
    expect(r.tau).toBe(1);
  });

  it("applies the tie correction to the variance and tau-b", () => {
    // S = 5; Var(S) = (4·3·13 − 2·1·9)/18 = 138/18; tau-b = 5/√(6·5)
    const r = mannKendall([1, 2, 2, 3]);
    expect(r.s).toBe(5);
    expect(r.z).toBeCloseTo(4 / Math.sqrt(138 / 18), 12);
    expect(r.tau).toBeCloseTo(5 / Math.sqrt(30), 12);
  });

  it("gives a tiny p for a noisy upward line", () => {
    const rng = mulberry32(21);
    const ys = Array.from({ length: 100 }, (_, i) => i + 15 * gauss(rng));
    const r = mannKendall(ys);
    expect(r.s).toBeGreaterThan(0);
    expect(r.tau).toBeGreaterThan(0.3);
    expect(r.p).toBeLessThan(1e-6);
  });

  it("gives p > 0.05 for pure noise", () => {
    for (const seed of SEEDS) {
      const rng = mulberry32(seed);
      const ys = Array.from({ length: 150 }, () => gauss(rng));
      expect(mannKendall(ys).p).toBeGreaterThan(0.05);
    }
  });

  it("gives p > 0.05 for flat series with ties", () => {
    const constant = mannKendall(new Array(20).fill(7));
    expect(constant).toEqual({ s: 0, z: 0, p: 0.5, tau: 0 });
    const quantised = mannKendall(Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 2 : 1)));
    expect(quantised.p).toBeGreaterThan(0.05);
  });

  it("gives p near 1 for a decreasing series", () => {
    const r = mannKendall(Array.from({ length: 30 }, (_, i) => -i));
    expect(r.s).toBe(-435);
    expect(r.p).toBeGreaterThan(0.999999);
  });

  it("thins series longer than 400 points to 400", () => {
    const r = mannKendall(Array.from({ length: 1000 }, (_, i) => i));
    expect(r.s).toBe((400 * 399) / 2);
    expect(r.tau).toBe(1);
  });
});

/* ---------------------------------------------------------------------------------------- */
/* Warm-up                                                                                   */
/* ---------------------------------------------------------------------------------------- */

describe("warmupEnd", () => {
  it("finds the end of a big early ramp followed by a flat run", () => {
    const { xs, ys } = series(1, 200, (x, _i, rng, span) => 50 * MB * Math.min(1, x / (0.2 * span)) + 0.5 * MB * gauss(rng));
    const k = warmupEnd(xs, ys);
    const kneeIndex = xs.findIndex((x) => x >= 0.2 * xs[199]!);
    expect(Math.abs(k - kneeIndex)).toBeLessThanOrEqual(8);
  });

  it("finds a step at the middle", () => {
    const rng = mulberry32(2);
    const xs = Array.from({ length: 100 }, (_, i) => i);
    const ys = xs.map((i) => (i < 50 ? 0 : 100) + gauss(rng));
    expect(warmupEnd(xs, ys)).toBe(50);
  });

  it("falls back to 10% when a single line fits as well", () => {
    const { xs, ys } = series(4, 200, (x, _i, rng) => 3 * x + 5 * gauss(rng));
    expect(warmupEnd(xs, ys)).toBe(20);
    const line = Array.from({ length: 50 }, (_, i) => i);
    expect(warmupEnd(line, line)).toBe(5);
  });

  // a full-mode heap series of a slow leak (kB, corpus slow_leak_in_churn.py, seen once in
  // ten runs): one snapshot caught a burst of temporary allocations at 4.9 s
  const spikeXs = [0.1, 0.6, 1.1, 1.7, 2.7, 3.3, 3.8, 4.4, 4.9, 5.4, 6.0, 6.5, 7.1, 7.6, 8.2, 8.7, 9.3, 9.8];
  const spikeYs = [65, 75, 78, 83, 87, 92, 96, 101, 156, 110, 113, 117, 121, 126, 131, 135, 140, 141].map((k) => k * 1000);

  it("is not pulled to a lone spike, and a leak with one still reads as growing", () => {
    const k = warmupEnd(spikeXs, spikeYs);
    expect(k).not.toBe(8); // where the least-squares split went with the spike in the fit
    expect(k).toBeLessThan(8);
    expect(trendTest(spikeXs, spikeYs).growing).toBe(true);
  });

  it("never starts the tested part on a lone spike", () => {
    // a line, where the split falls back to 10%: index 5, here a spike
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const ys = xs.map((i) => (i === 5 ? 500 : 3 * i));
    expect(warmupEnd(xs, ys)).toBe(6);
  });

  it("leaves steps, resets and ordinary noise alone", () => {
    expect(withoutLoneSpikes(spikeYs).map(Math.round)).toEqual([...spikeYs.slice(0, 8), 105500, ...spikeYs.slice(9)]);
    const step = [0, 1, 0, 1, 100, 101, 100, 101];
    expect(withoutLoneSpikes(step)).toEqual(step);
    const sawtooth = [10, 20, 30, 5, 15, 25, 0, 10];
    expect(withoutLoneSpikes(sawtooth)).toEqual(sawtooth);
    const { ys } = series(7, 100, (x, _i, rng) => 3 * x + 5 * gauss(rng));
    expect(withoutLoneSpikes(ys)).toEqual(ys);
  });

  it("never cuts into the last max(8, 40%) points and stays in range", () => {
    // a ramp up to 95% of the run would pull the split late if it were allowed
    for (const n of [0, 1, 5, 8, 9, 12, 20, 37, 100, 301]) {
      const xs = Array.from({ length: n }, (_, i) => i);
      const ys = xs.map((i) => Math.min(i, 0.95 * n));
      const k = warmupEnd(xs, ys);
      expect(k).toBeGreaterThanOrEqual(0);
      expect(k).toBeLessThanOrEqual(Math.max(0, n - 1));
      if (n >= 8) expect(n - k).toBeGreaterThanOrEqual(Math.max(8, Math.ceil(0.4 * n)));
    }
    expect(warmupEnd([0, 1, 2, 3, 4], [9, 9, 0, 0, 0])).toBe(0);
  });
});

/* ---------------------------------------------------------------------------------------- */
/* The verdict                                                                               */
/* ---------------------------------------------------------------------------------------- */

describe("trendTest: growing", () => {
  it("a steady leak under noise", () => {
    for (const seed of SEEDS) {
      // 200 kB/s over ~200 s = ~40 MB, noise σ = 3 MB
      const { xs, ys } = series(seed, 200, (x, _i, rng) => 100 * MB + 200_000 * x + 3 * MB * gauss(rng));
      const r = trendTest(xs, ys);
      expect(r.growing, r.reason).toBe(true);
      expect(r.sawtooth).toBe(false);
      expect(r.plateau).toBe(false);
      expect(r.slopeLow).toBeLessThan(200_000);
      expect(r.slopeHigh).toBeGreaterThan(200_000);
      expect(r.p).toBeLessThan(1e-10);
      expect(r.reason).toMatch(/grows steadily/);
    }
  });

  it("a slow leak whose total rise is ~5% of a noisy baseline (300 points)", () => {
    for (const seed of SEEDS) {
      // baseline 100 MB, noise σ = 1 MB, total rise 5 MB
      const { xs, ys } = series(seed, 300, (x, _i, rng, span) => 100 * MB + (5 * MB * x) / span + 1 * MB * gauss(rng));
      const r = trendTest(xs, ys);
      expect(r.growing, r.reason).toBe(true);
      expect(r.slope).toBeGreaterThan(0);
    }
  });

  it("a leak after a warm-up ramp, with the warm-up cut off", () => {
    const { xs, ys } = series(9, 300, (x, _i, rng, span) => 50 * MB * Math.min(1, x / (0.15 * span)) + 100_000 * x + MB * gauss(rng));
    const r = trendTest(xs, ys);
    expect(r.growing, r.reason).toBe(true);
    expect(r.start).toBeGreaterThanOrEqual(35);
    expect(r.start).toBeLessThanOrEqual(60);
    expect(r.slopeLow).toBeLessThan(100_000);
    expect(r.slopeHigh).toBeGreaterThan(100_000);
  });

  it("a leak with occasional one-sample spikes (not a sawtooth)", () => {
    for (const seed of SEEDS) {
      const { xs, ys } = series(seed, 200, (x, _i, rng) => 100 * MB + 200_000 * x + 3 * MB * gauss(rng) + (rng() < 0.03 ? 50 * MB : 0));
      const r = trendTest(xs, ys);
      expect(r.growing, r.reason).toBe(true);
      expect(r.sawtooth).toBe(false);
    }
  });

  it("a long, very significant leak smaller than the noise band (p < 1e-6 override)", () => {
    for (const seed of [2, 3, 4, 5]) {
      // 2000 points, noise σ = 1, total rise 1.8σ: below 3 × MAD of the residuals (≈ 2σ)
      const rng = mulberry32(seed);
      const xs = Array.from({ length: 2000 }, (_, i) => i);
      const ys = xs.map((i) => (1.8 * i) / 1999 + gauss(rng));
      const r = trendTest(xs, ys);
      const tx = xs.slice(r.start);
      const ty = ys.slice(r.start);
      const ts = theilSen(tx, ty);
      const madResid = median(ty.map((y, i) => Math.abs(y - (ts.intercept + ts.slope * tx[i]!))));
      expect(r.slope * (tx[tx.length - 1]! - tx[0]!)).toBeLessThan(3 * madResid);
      expect(r.p).toBeLessThan(1e-6);
      expect(r.growing, r.reason).toBe(true);
    }
  });

  it("a sawtooth whose troughs rise (a leak under batch flushes)", () => {
    for (const seed of SEEDS) {
      const rng = mulberry32(seed);
      const xs = Array.from({ length: 200 }, (_, i) => i);
      // teeth of 20 samples, 100 high; troughs rise 6 per tooth
      const ys = xs.map((i) => 100 + 0.3 * i + 5 * (i % 20) + 2 * gauss(rng));
      const r = trendTest(xs, ys);
      expect(r.sawtooth).toBe(true);
      expect(r.growing, r.reason).toBe(true);
      expect(r.reason).toMatch(/troughs keep rising/);
    }
  });
});

describe("trendTest: not growing", () => {
  it("pure noise", () => {
    for (const seed of SEEDS) {
      const { xs, ys } = series(seed, 200, (_x, _i, rng) => 100 * MB + MB * gauss(rng));
      const r = trendTest(xs, ys);
      expect(r.growing, r.reason).toBe(false);
      expect(r.sawtooth).toBe(false);
    }
  });

  it("a warm-up ramp, then flat", () => {
    for (const seed of SEEDS) {
      const { xs, ys } = series(seed, 200, (x, _i, rng, span) => 50 * MB + 50 * MB * Math.min(1, x / (0.2 * span)) + 0.5 * MB * gauss(rng));
      const r = trendTest(xs, ys);
      expect(r.growing, r.reason).toBe(false);
      expect(r.start).toBeGreaterThanOrEqual(30);
    }
  });

  it("a bounded cache: logistic fill to a plateau, sampled over 3× its fill time", () => {
    for (const seed of SEEDS) {
      const { xs, ys } = series(seed, 300, (x, _i, rng, span) => {
        const fill = span / 3; // fills (0.7% → 99.3%) over [0, fill]
        return 50 * MB + (50 * MB) / (1 + Math.exp(-(x - fill / 2) / (fill / 10))) + 0.5 * MB * gauss(rng);
      });
      const r = trendTest(xs, ys);
      expect(r.growing, r.reason).toBe(false);
    }
  });

  it("a logistic fill whose warm-up cut lands before the fill is complete", () => {
    // seeds where the change-point splits mid-fill; the fill's tail then makes the tested part's
    // overall trend significant, and only the deceleration check (first third far steeper than
    // the last third) stops it from looking like growth
    for (const seed of [90, 198]) {
      const { xs, ys } = series(seed, 300, (x, _i, rng, span) => {
        const fill = span / 3;
        return 50 * MB + (50 * MB) / (1 + Math.exp(-(x - fill / 2) / (fill / 10))) + 0.5 * MB * gauss(rng);
      });
      const r = trendTest(xs, ys);
      const fill = xs[299]! / 3;
      const filledAtStart = 1 / (1 + Math.exp(-(xs[r.start]! - fill / 2) / (fill / 10)));
      expect(filledAtStart).toBeLessThan(0.95);
      expect(r.p).toBeLessThan(1e-6);
      expect(r.growing, r.reason).toBe(false);
      expect(r.plateau).toBe(true);
      expect(r.reason).toMatch(/levels off/);
    }
  });

  it("a cache filling exponentially flags a plateau", () => {
    const { xs, ys } = series(1, 300, (x, _i, rng, span) => 50 * MB * (2 - Math.exp((-9 * x) / span)) + 0.5 * MB * gauss(rng));
    const r = trendTest(xs, ys);
    expect(r.growing).toBe(false);
    expect(r.plateau).toBe(true);
    expect(r.reason).toMatch(/levels off/);
    expect(r.lastThirdSlope).toBeLessThan(0.35 * r.slope);
  });

  it("a sawtooth with level troughs", () => {
    for (const seed of SEEDS) {
      const rng = mulberry32(seed);
      const xs = Array.from({ length: 200 }, (_, i) => i);
      const ys = xs.map((i) => 100 + 5 * (i % 20) + 2 * gauss(rng));
      const r = trendTest(xs, ys);
      expect(r.sawtooth).toBe(true);
      expect(r.growing, r.reason).toBe(false);
      expect(r.reason).toMatch(/sawtooth/);
    }
  });

  it("a slow sawtooth with only three teeth", () => {
    const rng = mulberry32(3);
    const xs = Array.from({ length: 200 }, (_, i) => i);
    const ys = xs.map((i) => 100 + 1.5 * (i % 67) + 2 * gauss(rng));
    const r = trendTest(xs, ys);
    expect(r.growing, r.reason).toBe(false);
  });

  it("a single step in the middle (a one-time load)", () => {
    for (const seed of SEEDS) {
      const { xs, ys } = series(seed, 200, (_x, i, rng) => 100 * MB + (i >= 100 ? 20 * MB : 0) + MB * gauss(rng));
      const r = trendTest(xs, ys);
      expect(r.growing, r.reason).toBe(false);
      expect(r.start).toBe(100);
    }
  });

  it("a significant but tiny rise inside the noise band of a short series", () => {
    // 40 points, noise σ = 1, total rise 2σ; seed picked so that MK p lands in (1e-6, 0.01)
    const rng = mulberry32(10);
    const xs = Array.from({ length: 40 }, (_, i) => i);
    const ys = xs.map((i) => (2 * i) / 39 + gauss(rng));
    const r = trendTest(xs, ys);
    expect(r.p).toBeLessThan(0.01);
    expect(r.p).toBeGreaterThan(1e-6);
    expect(r.slopeLow).toBeGreaterThan(0);
    expect(r.growing).toBe(false);
    expect(r.reason).toMatch(/too small relative to the noise/);
  });

  it("a constant series", () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const r = trendTest(xs, new Array(50).fill(4096));
    expect(r.growing).toBe(false);
    expect(r.slope).toBe(0);
    expect(r.p).toBe(0.5);
    expect(r.sawtooth).toBe(false);
    expect(r.plateau).toBe(false);
    expect(r.reason).toMatch(/constant/);
  });

  it("fewer than 8 points, even if they rise", () => {
    const xs = [0, 1, 2, 3, 4, 5, 6];
    const r = trendTest(xs, xs.map((x) => 1000 * x));
    expect(r.growing).toBe(false);
    expect(r.reason).toBe("too few samples");
    expect(r.start).toBe(0);
  });

  it("honours minPoints", () => {
    const xs = Array.from({ length: 12 }, (_, i) => i);
    const ys = xs.map((x) => 1000 * x);
    expect(trendTest(xs, ys).growing).toBe(true);
    const r = trendTest(xs, ys, { minPoints: 20 });
    expect(r.growing).toBe(false);
    expect(r.reason).toBe("too few samples");
  });
});

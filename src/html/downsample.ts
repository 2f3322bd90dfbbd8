import type { Points } from "./view-model.js";

/** Rounds to a few significant decimals: a page's JSON need not carry 17 digits per number. */
function roundX(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function roundY(y: number): number {
  return Math.abs(y) >= 100 ? Math.round(y) : Math.round(y * 1000) / 1000;
}

/**
 * At most 2 × `buckets` points: the time span is cut into equal buckets and each keeps its
 * lowest and its highest point, in time order. Unlike keeping every k-th point, a spike or
 * a sawtooth's trough survives, so the chart shows what the analysis saw.
 */
export function downsample(xs: readonly number[], ys: readonly number[], buckets: number): Points {
  const n = Math.min(xs.length, ys.length);
  if (n <= 2 * buckets) return { xs: xs.slice(0, n).map(roundX), ys: ys.slice(0, n).map(roundY) };
  const x0 = xs[0] as number;
  const span = (xs[n - 1] as number) - x0 || 1;
  const out: Points = { xs: [], ys: [] };
  let i = 0;
  for (let b = 0; b < buckets && i < n; b++) {
    const end = x0 + (span * (b + 1)) / buckets;
    let lo = i;
    let hi = i;
    for (; i < n && ((xs[i] as number) <= end || b === buckets - 1); i++) {
      if ((ys[i] as number) < (ys[lo] as number)) lo = i;
      if ((ys[i] as number) > (ys[hi] as number)) hi = i;
    }
    for (const k of lo === hi ? [lo] : lo < hi ? [lo, hi] : [hi, lo]) {
      out.xs.push(roundX(xs[k] as number));
      out.ys.push(roundY(ys[k] as number));
    }
  }
  return out;
}

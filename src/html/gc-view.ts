import type { ProcessData } from "../analysis/model.js";
import { processStart } from "../analysis/series.js";
import type { GcView } from "./view-model.js";

type Triple = [number, number, number];

const zero = (): Triple => [0, 0, 0];

/**
 * The collector's activity from the cheap samples. They carry running totals (collections
 * and seconds paused per generation); the differences between samples, summed into time
 * buckets, give when and how long the program paused for collections.
 */
export function gcView(proc: ProcessData, buckets: number): GcView {
  const samples = proc.samples;
  const t0 = processStart(proc);
  const last = samples[samples.length - 1];
  const span = last ? Math.max(last.t - t0, 1e-3) : 1;
  const n = last ? Math.max(1, Math.min(buckets, samples.length)) : 0;
  const width = span / Math.max(n, 1);
  const view: GcView = {
    xs: Array.from({ length: n }, (_, i) => Math.round(i * width * 1000) / 1000),
    width,
    pause: [new Array(n).fill(0), new Array(n).fill(0), new Array(n).fill(0)],
    collections: [new Array(n).fill(0), new Array(n).fill(0), new Array(n).fill(0)],
    totalPause: last ? ([...last.gc_pause] as Triple) : zero(),
    totalCollections: last ? ([...last.gc_collections] as Triple) : zero(),
    totalCollected: last ? ([...last.gc_collected] as Triple) : zero(),
    uncollectable: last ? last.gc_uncollectable.reduce((a, b) => a + b, 0) : 0,
    disabledSeen: samples.some((s) => s.gc_enabled === false),
  };
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const bucket = Math.min(n - 1, Math.floor((b.t - t0) / width));
    if (bucket < 0) continue;
    for (let g = 0; g < 3; g++) {
      // a counter that went down was reset (exec): count from zero
      const dp = (b.gc_pause[g] ?? 0) - (a.gc_pause[g] ?? 0);
      const dc = (b.gc_collections[g] ?? 0) - (a.gc_collections[g] ?? 0);
      view.pause[g as 0 | 1 | 2][bucket]! += dp >= 0 ? dp : b.gc_pause[g] ?? 0;
      view.collections[g as 0 | 1 | 2][bucket]! += dc >= 0 ? dc : b.gc_collections[g] ?? 0;
    }
  }
  for (const arr of view.pause) for (let i = 0; i < arr.length; i++) arr[i] = Math.round(arr[i]! * 1e6) / 1e6;
  return view;
}

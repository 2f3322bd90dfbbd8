import type { Frame, SampleRecord } from "../capture/format.js";
import { FrameClassifier, siteKey } from "./frames.js";
import type { ProcessData } from "./model.js";
import { median, theilSen } from "./stats.js";
import { isSwitchSnapshot, windowsPartStart } from "./trace-switch.js";

/** A time series: x in seconds since the process's first sample. */
export interface Series {
  xs: number[];
  ys: number[];
}

/** tracemalloc ran in short windows only: heap records describe windows, not the heap. */
export function isWindowed(proc: ProcessData): boolean {
  return proc.hello?.trace_mode === "windows" || proc.hello?.trace_mode === "off";
}

/** Mean size of the blocks that tracing windows saw survive; 64 bytes when there were none. */
export function bytesPerBlock(proc: ProcessData): number {
  let size = 0;
  let count = 0;
  for (const h of proc.heaps) {
    size += h.size;
    count += h.count;
  }
  return count > 0 ? size / count : 64;
}

/** Seconds of tracing windows in all. */
export function windowSeconds(proc: ProcessData): number {
  let total = 0;
  for (const h of proc.heaps) if (h.window) total += Math.max(0, h.window[1] - h.window[0]);
  return total;
}

/** Each tracing window, from its opening to the end of its closing work (epoch seconds). */
export function tracingWindows(proc: ProcessData): Array<[number, number]> {
  const ends = new Map<number, number>();
  for (const r of [...proc.heaps, ...proc.objsites]) {
    if (!r.window) continue;
    // closed in the process, the window's work went on until the record left; surveyed in a
    // copy, the process only paused for the fork, and the record left when the copy answered
    const end = r.copy ? r.window[1] : Math.max(r.window[1], r.t);
    ends.set(r.window[0], Math.max(ends.get(r.window[0]) ?? 0, end));
  }
  return [...ends.entries()].sort((a, b) => a[0] - b[0]);
}

/** How far around a window the series is read to measure its step (seconds). */
const STEP_SPAN = 1.0;
const SETTLE = 0.05;
const STEP_OVER_WOBBLE = 6;

/**
 * Closing a tracing window moves the block count by itself: the tuples it read fill the
 * interpreter's free lists (freed, but still allocated blocks), and with busy threads the
 * agent cannot tell its own blocks from the program's. Such a step is the agent's, not
 * the program's: the step across each window, less the growth the series shows on either
 * side, is taken out of everything after it, and the points inside the window dropped.
 */
export function levelWindows(series: Series, windows: Array<[number, number]>): Series {
  let xs = series.xs;
  let ys = series.ys.slice();
  for (const [a, b] of windows) {
    const before: number[] = [];
    const after: number[] = [];
    xs.forEach((x, i) => {
      if (x >= a - STEP_SPAN && x < a) before.push(i);
      else if (x > b + SETTLE && x <= b + SETTLE + STEP_SPAN) after.push(i);
    });
    if (before.length < 3 || after.length < 3) continue;
    const side = (idx: number[]) => ({
      x: median(idx.map((i) => xs[i] as number)),
      y: median(idx.map((i) => ys[i] as number)),
      slope: theilSen(idx.map((i) => xs[i] as number), idx.map((i) => ys[i] as number)).slope,
    });
    const pre = side(before);
    const post = side(after);
    const step = post.y - pre.y - ((pre.slope + post.slope) / 2) * (post.x - pre.x);
    // Only a step that stands out of the series' own wobble around its local trend: a
    // sawtooth's phase is no step, and levelling it would invent growth or hide it.
    const wobble = median([
      ...before.map((i) => Math.abs((ys[i] as number) - pre.y - pre.slope * ((xs[i] as number) - pre.x))),
      ...after.map((i) => Math.abs((ys[i] as number) - post.y - post.slope * ((xs[i] as number) - post.x))),
    ]);
    if (Math.abs(step) <= STEP_OVER_WOBBLE * wobble) continue;
    const keep = xs.map((x) => x < a || x > b + SETTLE);
    ys = ys.map((y, i) => ((xs[i] as number) > a ? y - step : y)).filter((_, i) => keep[i]);
    xs = xs.filter((_, i) => keep[i]);
  }
  return { xs, ys };
}

/** Records taken while the program ran, without the ones taken at its exit. */
function steady<T extends { final?: boolean }>(records: T[]): T[] {
  return records.filter((r) => !r.final);
}

/** The longest teardown taken off a run's end (seconds): a pool's threads end in milliseconds. */
const MAX_TEARDOWN_S = 1.0;
/**
 * When the sample at exit counts fewer threads than the run's last one (the agent's own
 * aside), the program's threads ended between them, and what they held went a little before
 * they left the count (a thread's `threading.local` data is freed as it finishes): this
 * much of the run's end is teardown.
 */
const EXIT_TEARDOWN_S = 0.5;

/**
 * Samples taken while the program ran: not the ones at its exit, nor those of its teardown —
 * the samples at the very end taken once its thread count began to fall for good (a pool
 * shut down as the program finishes). What a program lets go on its way out says nothing of
 * how its memory behaved while it ran: the corpus's thread_local_state.py frees its threads'
 * lists as its pool's threads end, and one sample caught there read its leak as levelling off.
 */
export function runningSamples(proc: ProcessData): SampleRecord[] {
  const from = teardownFrom(proc);
  return steady(proc.samples).filter((r) => r.t < from);
}

/** When the run's teardown began (epoch seconds; Infinity when none shows): runningSamples. */
export function teardownFrom(proc: ProcessData): number {
  // from the end, the exit's own samples left out; a second or so of samples: no copy
  const s = proc.samples;
  let i = s.length - 1;
  while (i >= 0 && (s[i] as SampleRecord).final) i--;
  const end = s[i]?.t ?? 0;
  let from = Infinity;
  const atExit = s.slice(i + 1) as SampleRecord[];
  const lastRunning = s[i] as SampleRecord | undefined;
  // less the agent's own thread, which it stops before the exit's sample
  if (lastRunning && atExit.length > 0 && Math.min(...atExit.map((r) => r.threads)) < lastRunning.threads - 1) {
    // thread_local_state.py: one worker's lists freed 0.2 s before the exit's sample, while
    // the running samples still counted every worker
    from = fallBeforeExit(s, i, end - EXIT_TEARDOWN_S, isWindowed(proc));
  }
  let mostAfter = 0; // threads, at most, in the samples from i on
  for (; i > 0; i--) {
    mostAfter = Math.max(mostAfter, (s[i] as SampleRecord).threads);
    const before = s[i - 1] as SampleRecord;
    if (before.final) continue;
    if (end - before.t > MAX_TEARDOWN_S) break;
    if (before.threads > mostAfter) from = Math.min(from, (s[i] as SampleRecord).t);
  }
  return from;
}

/**
 * Where the largest fall among the samples up to ``last`` and since ``since`` begins, when
 * the heap never comes back above where it fell from; Infinity otherwise. Only the fall is
 * cut, not the whole half second: a short windows part needs every point it has at its end.
 */
function fallBeforeExit(samples: SampleRecord[], last: number, since: number, windowed: boolean): number {
  const value = (k: number) => {
    const r = samples[k] as SampleRecord;
    return windowed ? r.blocks ?? -1 : r.heap;
  };
  let best = -1;
  let bestFall = 0;
  for (let k = last; k >= 1 && (samples[k] as SampleRecord).t >= since; k--) {
    if (value(k) < 0 || value(k - 1) < 0) continue;
    const fall = value(k - 1) - value(k);
    if (fall >= bestFall && fall > 0) [best, bestFall] = [k, fall];
  }
  if (best < 0) return Infinity;
  const fellFrom = value(best - 1);
  for (let k = best; k <= last; k++) if (value(k) >= fellFrom) return Infinity;
  return (samples[best] as SampleRecord).t;
}

export function processStart(proc: ProcessData): number {
  return proc.samples[0]?.t ?? proc.hello?.t ?? 0;
}

/**
 * The Python heap over time. tracemalloc snapshots are preferred: they leave out the
 * agent's own allocations, which the cheap samples cannot tell apart.
 */
export function heapSeries(proc: ProcessData): Series {
  const t0 = processStart(proc);
  if (isWindowed(proc)) {
    // No whole-heap byte count without tracemalloc: the allocator's block count, scaled
    // by the bytes per block the tracing windows saw survive; after the switch, for a
    // process that began traced (trace-switch.ts).
    const perBlock = bytesPerBlock(proc);
    const from = windowsPartStart(proc) ?? -Infinity;
    const s = runningSamples(proc).filter((r) => typeof r.blocks === "number" && r.t >= from);
    const blocks = { xs: s.map((r) => r.t - t0), ys: s.map((r) => (r.blocks as number) * perBlock) };
    return levelWindows(blocks, tracingWindows(proc).map(([a, b]) => [a - t0, b - t0]));
  }
  const teardown = teardownFrom(proc);
  const heaps = steady(proc.heaps).filter((h) => h.t < teardown && !isSwitchSnapshot(h));
  if (heaps.length >= 8) return { xs: heaps.map((h) => h.t - t0), ys: heaps.map((h) => h.size) };
  return sampledHeapSeries(proc);
}

/** The traced heap from the samples (a fully traced process): ten a second, where snapshots come about one. */
export function sampledHeapSeries(proc: ProcessData): Series {
  const t0 = processStart(proc);
  const s = runningSamples(proc).filter((r) => r.heap >= 0);
  return { xs: s.map((r) => r.t - t0), ys: s.map((r) => r.heap) };
}

/** RSS without tracemalloc's own bookkeeping, which grows with the traced heap. */
export function rssSeries(proc: ProcessData): Series {
  const t0 = processStart(proc);
  const s = runningSamples(proc).filter((r) => r.rss >= 0);
  return { xs: s.map((r) => r.t - t0), ys: s.map((r) => r.rss - (r.trace_overhead ?? 0)) };
}

export function uncollectableSeries(proc: ProcessData): Series {
  const t0 = processStart(proc);
  const s = steady(proc.samples);
  return { xs: s.map((r) => r.t - t0), ys: s.map((r) => r.gc_garbage) };
}

export function unreachableSeries(proc: ProcessData): Series {
  const t0 = processStart(proc);
  const g = steady(proc.garbage);
  return { xs: g.map((r) => r.t - t0), ys: g.map((r) => r.unreachable) };
}

export function censusTypeSeries(proc: ProcessData, typeKey: string): Series {
  const t0 = processStart(proc);
  const from = teardownFrom(proc);
  // not while a tracing window was open or closing: its work holds references for a while
  // (thread_local_state.py: +850 str in the one census taken there, out of a steady +100/s)
  const windows = tracingWindows(proc);
  const inWindow = (t: number) => windows.some(([a, b]) => t >= a && t <= b);
  const c = steady(proc.census).filter((r) => r.t < from && !inWindow(r.t));
  return { xs: c.map((r) => r.t - t0), ys: c.map((r) => r.types[typeKey] ?? 0) };
}

export function unreachableTypeSeries(proc: ProcessData, typeKey: string): Series {
  const t0 = processStart(proc);
  const g = steady(proc.garbage);
  return { xs: g.map((r) => r.t - t0), ys: g.map((r) => r.types[typeKey] ?? 0) };
}

/** Heap growth grouped by the first frame in the user's code. */
export interface SiteSeries {
  key: string;
  frame: Frame;
  /** The largest traceback seen for this site, innermost first. */
  traceback: Frame[];
  sizes: Series;
  counts: Series;
  tracebackIds: Set<number>;
}

/**
 * Per-site series from the tracemalloc snapshots. Sites are keyed by the innermost user
 * frame; a traceback made only of library frames is keyed by its innermost frame.
 */
export function siteSeries(proc: ProcessData, frames: FrameClassifier): Map<string, SiteSeries> {
  const t0 = processStart(proc);
  const keyOfTb = new Map<number, { key: string; frame: Frame } | null>();
  const siteOf = (tb: number) => {
    let v = keyOfTb.get(tb);
    if (v === undefined) {
      const stack = proc.tracebacks.get(tb);
      const f = stack ? frames.userFrame(stack) ?? stack[0] ?? null : null;
      v = f ? { key: siteKey(f), frame: f } : null;
      keyOfTb.set(tb, v);
    }
    return v;
  };
  const out = new Map<string, SiteSeries>();
  const biggest = new Map<string, number>();
  const heaps = steady(proc.heaps);
  heaps.forEach((heap, i) => {
    for (const [tb, size, count] of heap.sites) {
      const site = siteOf(tb);
      if (!site) continue;
      let s = out.get(site.key);
      if (!s) {
        s = {
          key: site.key,
          frame: site.frame,
          traceback: proc.tracebacks.get(tb) ?? [],
          sizes: { xs: heaps.map((h) => h.t - t0), ys: new Array(heaps.length).fill(0) },
          counts: { xs: heaps.map((h) => h.t - t0), ys: new Array(heaps.length).fill(0) },
          tracebackIds: new Set(),
        };
        out.set(site.key, s);
      }
      s.sizes.ys[i] = (s.sizes.ys[i] ?? 0) + size;
      s.counts.ys[i] = (s.counts.ys[i] ?? 0) + count;
      s.tracebackIds.add(tb);
      if (size > (biggest.get(site.key) ?? -1)) {
        biggest.set(site.key, size);
        s.traceback = proc.tracebacks.get(tb) ?? s.traceback;
      }
    }
  });
  return out;
}

/** Map from a traceback id to the user-site key it belongs to. */
export function userSiteOfTraceback(proc: ProcessData, frames: FrameClassifier, tb: number): Frame | null {
  const stack = proc.tracebacks.get(tb);
  if (!stack) return null;
  return frames.userFrame(stack);
}

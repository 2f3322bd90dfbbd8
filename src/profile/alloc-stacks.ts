/**
 * Importer: a capture's tracemalloc snapshots (`heap` records, their `tb` tracebacks) → a
 * Profile of memory by allocation stack, and the difference of two such profiles (what
 * grew). Shared by `leaktrail flame` and any report that wants memory by stack.
 *
 * Which snapshot: per process, the last whole-heap one (the `final` one when the program
 * ended normally) when tracemalloc traced the whole run; in "windows" mode, where each
 * snapshot holds only what one tracing window's allocations left alive, the sum of all
 * windows — memory allocated in the windows and still alive at each window's end. The
 * blocks of sites beyond the agent's list (`rest`) are one "(other sites)" frame.
 */
import { FrameClassifier } from "../analysis/frames.js";
import type { CaptureModel, ProcessData } from "../analysis/model.js";
import type { HeapRecord } from "../capture/format.js";
import { ProfileBuilder, VALUE_TYPES, type Profile, type ValueType } from "./model.js";

export interface AllocStacksOptions {
  /** Only this process (default: all processes of the capture). */
  pid?: number;
}

/** The snapshots of one process that say "memory by stack" best (see the file comment). */
export function chosenHeaps(proc: ProcessData): HeapRecord[] {
  const windows = proc.heaps.filter((h) => h.window);
  if (windows.length > 0) return windows;
  const last = proc.heaps[proc.heaps.length - 1];
  return last ? [last] : [];
}

export interface Weighted {
  pid: number;
  /** Innermost first, as tracemalloc gives them: [file, line, function]. */
  frames: Array<[string, number, string]>;
  size: number;
  count: number;
}

/** Bytes and blocks alive by allocation traceback, per process, from the chosen snapshots. */
export function weightedStacks(model: CaptureModel, opts: AllocStacksOptions = {}): Weighted[] {
  const out: Weighted[] = [];
  for (const proc of model.processes) {
    if (opts.pid !== undefined && proc.pid !== opts.pid) continue;
    for (const heap of chosenHeaps(proc)) {
      for (const [tb, size, count] of heap.sites) {
        const frames = (proc.tracebacks.get(tb) ?? []).map((f): [string, number, string] => [f[0], f[1], f[2] ?? "?"]);
        out.push({ pid: proc.pid, frames: frames.length ? frames : [["", 0, "(unknown traceback)"]], size, count });
      }
      if (heap.rest[0] > 0) out.push({ pid: proc.pid, frames: [["", 0, "(other sites)"]], size: heap.rest[0], count: heap.rest[1] });
    }
  }
  return out;
}

function stackOf(b: ProfileBuilder, display: (file: string) => string, frames: Array<[string, number, string]>): number[] {
  const stack: number[] = [];
  for (let i = frames.length - 1; i >= 0; i--) {
    const [file, line, func] = frames[i]!;
    stack.push(b.frame(b.fn(func, file ? display(file) : ""), line));
  }
  return stack;
}

function meta(model: CaptureModel, name: string, defaultValue: number) {
  const t0 = model.header.created;
  const ends = model.processes.flatMap((p) => p.heaps.map((h) => h.t));
  const t1 = ends.length ? Math.max(...ends) : t0;
  return { name, defaultValue, startNs: Math.round(t0 * 1e9), durationNs: Math.max(0, Math.round((t1 - t0) * 1e9)), periodNs: 0 };
}

export function noHeapMessage(model: CaptureModel): string | null {
  return model.processes.some((p) => p.heaps.length > 0) ? null : "holds no tracemalloc snapshot (was it run with --frames 0?)";
}

/** Memory by allocation stack: columns bytes and blocks alive. */
export function captureAllocProfile(model: CaptureModel, opts: AllocStacksOptions = {}): Profile {
  const b = new ProfileBuilder([VALUE_TYPES.retained, VALUE_TYPES.retainedBlocks]);
  const show = new FrameClassifier([], model.header.cwd);
  for (const w of weightedStacks(model, opts)) b.sample(stackOf(b, (f) => show.display(f), w.frames), [w.size, w.count], w.pid, "(heap)");
  return b.build(meta(model, `memory by allocation stack: ${model.header.command.join(" ")}`, 0));
}

export const DIFF_VALUE_TYPES: ValueType[] = [
  { type: "inuse_space_base", unit: "bytes", label: "bytes retained in the baseline" },
  { type: "inuse_space", unit: "bytes", label: "bytes retained" },
  VALUE_TYPES.growth,
];

/**
 * The difference of two captures' memory by stack: per stack (function, file and line of
 * every frame) the bytes before and after, and the growth (after − before when positive,
 * else 0, so that growth-only views show what grew). Processes are merged: pids differ
 * between runs.
 */
export function diffAllocProfile(base: CaptureModel, later: CaptureModel, opts: AllocStacksOptions = {}): Profile {
  const rows = new Map<string, { frames: Array<[string, number, string]>; before: number; after: number }>();
  const showBase = new FrameClassifier([], base.header.cwd);
  const showLater = new FrameClassifier([], later.header.cwd);
  // stacks match by what the user sees (relative paths), so two checkouts compare
  const key = (show: FrameClassifier, frames: Array<[string, number, string]>) => frames.map((f) => `${show.display(f[0])}:${f[1]}:${f[2]}`).join("|");
  for (const w of weightedStacks(base, opts)) {
    const k = key(showBase, w.frames);
    const row = rows.get(k) ?? { frames: w.frames.map((f): [string, number, string] => [showBase.display(f[0]), f[1], f[2]]), before: 0, after: 0 };
    row.before += w.size;
    rows.set(k, row);
  }
  for (const w of weightedStacks(later, opts)) {
    const k = key(showLater, w.frames);
    const row = rows.get(k) ?? { frames: w.frames.map((f): [string, number, string] => [showLater.display(f[0]), f[1], f[2]]), before: 0, after: 0 };
    row.after += w.size;
    rows.set(k, row);
  }
  const b = new ProfileBuilder(DIFF_VALUE_TYPES);
  for (const r of rows.values()) b.sample(stackOf(b, (f) => f, r.frames), [r.before, r.after, Math.max(0, r.after - r.before)], 0, "(heap)");
  return b.build(meta(later, `memory growth by allocation stack: ${later.header.command.join(" ")}`, 2));
}

import type { Frame } from "../capture/format.js";
import type { CaptureModel, ProcessData } from "../analysis/model.js";
import { isWindowed } from "../analysis/series.js";

/** Bytes still alive that were allocated under one traceback. */
export interface AllocStack {
  pid: number;
  /** Outermost frame first (the flame graph's root end). */
  frames: Frame[];
  /** Bytes. */
  weight: number;
}

/**
 * Live bytes by allocation traceback, from the tracemalloc snapshots of each process: its
 * last whole-heap snapshot taken while the program ran (the one at exit, when the program
 * has already let go of much, only when there is no other); in "windows" mode, the sum
 * over every window of what the window's allocations left alive.
 *
 * This is the page's own small conversion; it sits behind this one function so that a
 * shared capture → stacks conversion can replace it.
 */
export function allocationStacks(model: CaptureModel): AllocStack[] {
  const out: AllocStack[] = [];
  for (const proc of model.processes) out.push(...processStacks(proc));
  return out;
}

function processStacks(proc: ProcessData): AllocStack[] {
  const bytes = new Map<number, number>();
  if (isWindowed(proc)) {
    for (const h of proc.heaps) if (h.window) for (const [tb, size] of h.sites) bytes.set(tb, (bytes.get(tb) ?? 0) + size);
  } else {
    const whole = proc.heaps.filter((h) => !h.window);
    const last = [...whole].reverse().find((h) => !h.final) ?? whole[whole.length - 1];
    for (const [tb, size] of last?.sites ?? []) bytes.set(tb, (bytes.get(tb) ?? 0) + size);
  }
  const out: AllocStack[] = [];
  for (const [tb, weight] of bytes) {
    const frames = proc.tracebacks.get(tb);
    if (!frames || weight <= 0) continue;
    out.push({ pid: proc.pid, frames: [...frames].reverse(), weight });
  }
  return out;
}

import type { ProcessData } from "./model.js";

/**
 * An "auto" process traces every allocation at first and switches to tracing windows once
 * that costs it much (docs/agent.md). Its two parts are measured in different ways, and a
 * series that runs across the switch mixes them: while tracemalloc traced everything, the
 * allocator's block count also rose with the agent's own bookkeeping of what it traced
 * (measured on the corpus's thread_local_state.py: ~800 blocks/s while traced, ~300 after,
 * for the same leak), so a steady leak read across the switch looked like a rise that
 * levels off. Each process is judged on one part: the windows part, from the switch on,
 * when it is long enough for a trend; otherwise — a switch late in a short run — the
 * traced part, exactly as a process traced throughout.
 */

/** Fewest samples after the switch to judge the windows part: the heap trend test's minimum. */
export const MIN_SAMPLES_AFTER_SWITCH = 20;

/**
 * When the windows part's series begins (epoch seconds): the first sample after the switch,
 * which the agent takes once it has closed the switch's window. Null without a switch.
 */
export function windowsPartStart(proc: ProcessData): number | null {
  const at = proc.traceSwitch?.t;
  if (at === undefined) return null;
  return proc.samples.find((s) => s.t > at)?.t ?? Infinity;
}

/** The process as it should be judged: itself, or the part it traced whole. */
export function partToJudge(proc: ProcessData): ProcessData {
  const from = windowsPartStart(proc);
  const switched = proc.traceSwitch;
  if (from === null || !switched || !proc.beforeSwitch) return proc;
  const after = proc.samples.filter((s) => s.t >= from && !s.final && typeof s.blocks === "number").length;
  if (after >= MIN_SAMPLES_AFTER_SWITCH) return proc;
  const until = <T extends { t: number }>(records: T[]) => records.filter((r) => r.t <= switched.t);
  return {
    ...proc,
    hello: proc.hello && { ...proc.hello, trace_mode: "full" },
    traceSwitch: undefined,
    beforeSwitch: undefined,
    samples: until(proc.samples),
    census: until(proc.census),
    garbage: until(proc.garbage),
    heaps: proc.beforeSwitch.heaps,
    objsites: proc.beforeSwitch.objsites,
  };
}

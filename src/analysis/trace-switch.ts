import type { ProcessData } from "./model.js";

/**
 * An "auto" process traces every allocation at first and switches to tracing windows once
 * that costs it much (docs/agent.md). Its two parts are measured in different ways, and a
 * series that runs across the switch mixes them: while tracemalloc traced everything, the
 * allocator's block count also rose with the agent's own bookkeeping of what it traced
 * (measured on the corpus's thread_local_state.py: ~800 blocks/s while traced, ~300 after,
 * for the same leak), so a steady leak read across the switch looked like a rise that
 * levels off. Each part is judged on its own, when it is long enough for a trend: the
 * windows part from the switch on, the traced part exactly as a process traced
 * throughout. Each has its weakness — a short windows part is a few seconds of a block
 * count that collections move by tens of kB; the traced part's byte counts leave out the
 * agent's own traced bytes as its last heap snapshot found them, which its walks change
 * by hundreds of kB in between — so the process leaks when either part does.
 */

/** Fewest samples to judge a part by: the heap trend test's minimum. */
export const MIN_SAMPLES_TO_JUDGE = 8;

/**
 * When the windows part's series begins (epoch seconds): the first sample after the switch,
 * which the agent takes once it has closed the switch's window. Null without a switch.
 */
export function windowsPartStart(proc: ProcessData): number | null {
  const at = proc.traceSwitch?.t;
  if (at === undefined) return null;
  return proc.samples.find((s) => s.t > at)?.t ?? Infinity;
}

/** The parts of a process to judge: itself, or the parts of a switched run long enough to judge. */
export function partsToJudge(proc: ProcessData): ProcessData[] {
  const switched = proc.traceSwitch;
  if (!switched || !proc.beforeSwitch) return [proc];
  const from = windowsPartStart(proc) as number; // a number whenever there was a switch
  const until = <T extends { t: number }>(records: T[]) => records.filter((r) => r.t <= switched.t);
  const traced: ProcessData = {
    ...proc,
    hello: proc.hello && { ...proc.hello, trace_mode: "full" },
    traceSwitch: undefined,
    beforeSwitch: undefined,
    switchWindow: undefined,
    samples: until(proc.samples),
    census: until(proc.census),
    garbage: until(proc.garbage),
    heaps: proc.beforeSwitch.heaps,
    objsites: proc.beforeSwitch.objsites,
  };
  const after = proc.samples.filter((s) => s.t >= from && !s.final && typeof s.blocks === "number").length;
  const before = traced.samples.filter((s) => !s.final && s.heap >= 0).length;
  const parts = [...(after >= MIN_SAMPLES_TO_JUDGE ? [proc] : []), ...(before >= MIN_SAMPLES_TO_JUDGE ? [traced] : [])];
  return parts.length > 0 ? parts : [proc];
}

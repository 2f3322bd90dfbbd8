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

/**
 * The switch's window, read as the traced part's last whole-heap snapshot. That window
 * began when tracing did, at the start: what it left alive is the whole traced heap at the
 * switch, as a snapshot then would have seen it. Heap snapshots come about once a second,
 * so a switch in the run's third second left the traced part two, the first taken before
 * the program's imports: their growth named the import line, not the leak (the corpus's
 * thread_local_state.py, about one run in thirty).
 */
function asSnapshotAtSwitch<T extends { t: number; window?: [number, number] | null }>(proc: ProcessData, records: T[]): T[] {
  const born = proc.hello?.t;
  if (born === undefined) return [];
  return records
    .filter((r) => r.window && r.window[0] <= born + WINDOW_FROM_START_S)
    .map((r) => {
      const snapshot = { ...r, t: (r.window as [number, number])[1], window: undefined };
      switchSnapshots.add(snapshot);
      return snapshot;
    });
}

/**
 * The records asSnapshotAtSwitch made. They are evidence of where objects were made, not
 * points of the heap series: one more point a fraction of a second after the last, with
 * the growth of that fraction only, tipped a steady series' last-third test into "levelled
 * off" (a stored thread_local_state.py capture).
 */
const switchSnapshots = new WeakSet<object>();

export function isSwitchSnapshot(record: object): boolean {
  return switchSnapshots.has(record);
}

/** How soon after the hello a window must begin to have begun with tracing (seconds). */
const WINDOW_FROM_START_S = 1;

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
    heaps: [...proc.beforeSwitch.heaps, ...asSnapshotAtSwitch(proc, proc.switchWindow?.heaps ?? [])],
    objsites: [...proc.beforeSwitch.objsites, ...asSnapshotAtSwitch(proc, proc.switchWindow?.objsites ?? [])],
  };
  const after = proc.samples.filter((s) => s.t >= from && !s.final && typeof s.blocks === "number").length;
  const before = traced.samples.filter((s) => !s.final && s.heap >= 0).length;
  const parts = [...(after >= MIN_SAMPLES_TO_JUDGE ? [proc] : []), ...(before >= MIN_SAMPLES_TO_JUDGE ? [traced] : [])];
  return parts.length > 0 ? parts : [proc];
}

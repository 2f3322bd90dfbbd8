import type { Frame } from "../capture/format.js";
import type { CaptureModel } from "../analysis/model.js";
import { weightedStacks } from "../profile/alloc-stacks.js";

/** Bytes still alive that were allocated under one traceback. */
export interface AllocStack {
  pid: number;
  /** Outermost frame first (the flame graph's root end). */
  frames: Frame[];
  /** Bytes. */
  weight: number;
}

/** Live bytes by allocation traceback, from the same snapshots `leaktrail flame` reads. */
export function allocationStacks(model: CaptureModel): AllocStack[] {
  return weightedStacks(model)
    .filter((w) => w.size > 0)
    .map((w) => ({ pid: w.pid, frames: [...w.frames].reverse(), weight: w.size }));
}

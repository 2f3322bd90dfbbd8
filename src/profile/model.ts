/**
 * The one in-memory profile model every profile output is made from: weighted stacks.
 *
 * A sample is a stack (root first) with one value per {@link ValueType} — sampled CPU time,
 * wall-clock samples, bytes — and the process and thread it came from. Functions and frames
 * are interned: a frame is a function at a line, so that flame graphs can merge by function
 * while pprof keeps the lines. Importers (the sampler's files, a capture's heap snapshots)
 * build it; exporters (svg, speedscope, pprof, folded) only read it. Follows the split of
 * speedscope's `lib/profile.ts` and pprof's profile.proto (sample types as columns).
 */

export type ValueUnit = "count" | "nanoseconds" | "bytes";

/** A column of sample values, named as pprof names them ("cpu", "alloc_space", …). */
export interface ValueType {
  type: string;
  unit: ValueUnit;
  /** What a person reads in a legend: "CPU time", "bytes retained", … */
  label: string;
}

export interface ProfileFunction {
  name: string;
  /** Source file as shown to the user: relative to the working directory when under it. */
  file: string;
  /** Line of the `def` (0 when unknown, e.g. from tracemalloc, which records none). */
  startLine: number;
}

export interface ProfileFrame {
  /** Index into {@link Profile.functions}. */
  fn: number;
  /** The line the frame was at (0 when unknown). */
  line: number;
}

export interface ProfileSample {
  /** Indices into {@link Profile.frames}, root (outermost) first. */
  stack: number[];
  /** One value per entry of {@link Profile.valueTypes}. */
  values: number[];
  pid: number;
  thread: string;
}

export interface Profile {
  /** Shown as a title ("python3 app.py"). */
  name: string;
  functions: ProfileFunction[];
  frames: ProfileFrame[];
  valueTypes: ValueType[];
  /** The column flame graphs and folded stacks show unless asked for another. */
  defaultValue: number;
  samples: ProfileSample[];
  /** Epoch nanoseconds of the start, and the profile's length. */
  startNs: number;
  durationNs: number;
  /** Nanoseconds between samples (pprof's period), 0 when the values are not sampled. */
  periodNs: number;
}

export const VALUE_TYPES = {
  samples: { type: "samples", unit: "count", label: "samples (wall clock)" },
  cpu: { type: "cpu", unit: "nanoseconds", label: "CPU time" },
  alloc: { type: "alloc_space", unit: "bytes", label: "bytes allocated (sampled)" },
  retained: { type: "inuse_space", unit: "bytes", label: "bytes retained" },
  retainedBlocks: { type: "inuse_objects", unit: "count", label: "blocks retained" },
  growth: { type: "growth_space", unit: "bytes", label: "bytes grown" },
} as const satisfies Record<string, ValueType>;

/** Interns functions and frames while a profile is built. */
export class ProfileBuilder {
  private readonly functions: ProfileFunction[] = [];
  private readonly frames: ProfileFrame[] = [];
  private readonly fnIds = new Map<string, number>();
  private readonly frameIds = new Map<string, number>();
  private readonly samples: ProfileSample[] = [];

  constructor(private readonly valueTypes: ValueType[]) {}

  fn(name: string, file: string, startLine = 0): number {
    const key = `${file}\0${name}`;
    let id = this.fnIds.get(key);
    if (id === undefined) {
      id = this.functions.length;
      this.functions.push({ name, file, startLine });
      this.fnIds.set(key, id);
    } else if (startLine && !this.functions[id]!.startLine) {
      this.functions[id]!.startLine = startLine;
    }
    return id;
  }

  frame(fn: number, line: number): number {
    const key = `${fn}:${line}`;
    let id = this.frameIds.get(key);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push({ fn, line });
      this.frameIds.set(key, id);
    }
    return id;
  }

  /** Adds a sample; `values` must have one entry per value type. Empty samples are dropped. */
  sample(stack: number[], values: number[], pid: number, thread: string): void {
    if (values.length !== this.valueTypes.length) throw new Error(`sample has ${values.length} values, profile has ${this.valueTypes.length} columns`);
    if (values.every((v) => v === 0)) return;
    this.samples.push({ stack, values, pid, thread });
  }

  build(meta: { name: string; defaultValue: number; startNs: number; durationNs: number; periodNs: number }): Profile {
    return { ...meta, functions: this.functions, frames: this.frames, valueTypes: this.valueTypes, samples: this.samples };
  }
}

/** Sum of one column over all samples. */
export function total(profile: Profile, value: number): number {
  let sum = 0;
  for (const s of profile.samples) sum += s.values[value] ?? 0;
  return sum;
}

/** The column named `type`, or -1. */
export function valueIndex(profile: Profile, type: string): number {
  return profile.valueTypes.findIndex((v) => v.type === type);
}

/** "name (file)", the label of a function in flame graphs and folded stacks. */
export function functionLabel(f: ProfileFunction): string {
  return f.file ? `${f.name} (${f.file})` : f.name;
}

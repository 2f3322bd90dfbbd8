/**
 * `leaktrail.stacks/1`: what the in-process sampler (python/leaktrail/stack_sampler.py)
 * writes, one JSON file per process, `<pid>.json`, replaced every few seconds and at exit.
 * docs/profile.md describes the same with an example.
 */
export const STACKS_SCHEMA = "leaktrail.stacks/1";

export interface RawStacks {
  schema: typeof STACKS_SCHEMA;
  pid: number;
  ppid: number;
  /** "3.11.7" */
  python: string;
  argv: string[];
  executable: string;
  cwd: string;
  /** Epoch seconds when sampling began, and of this write. */
  start: number;
  end: number;
  /** Written at exit (true), or a periodic write of a process that may still run or was killed. */
  final: boolean;
  /** Samples per second aimed at, and ticks taken. */
  hz: number;
  ticks: number;
  /** Per-thread CPU clocks were read (Linux); else `cpu_ns` is 0 and wall samples are all there is. */
  cpu_clock: boolean;
  /** tracemalloc ran (profile --memory): `alloc` values and `retained` are filled. */
  memory: boolean;
  /** Frames per tracemalloc traceback (0 without memory). */
  trace_frames: number;
  /** Code objects seen: [file, function name, line of the def]. */
  codes: Array<[file: string, name: string, firstLine: number]>;
  /** Threads seen: [ident, native id or null, name]. */
  threads: Array<[ident: number, native: number | null, name: string]>;
  /**
   * Distinct stacks with their weights: [thread index, [code index, line, code index, line, …]
   * innermost first, samples, CPU ns charged, bytes allocated charged].
   */
  stacks: Array<[thread: number, frames: number[], samples: number, cpuNs: number, allocBytes: number]>;
  /** Blocks alive at the last write, by allocation traceback: [[[file, line], …] innermost first, bytes, blocks]. */
  retained: Array<[frames: Array<[file: string, line: number]>, size: number, count: number]>;
  /** Bytes and blocks alive at the last write, all tracebacks together (leaktrail's own excluded). */
  retained_total: [size: number, count: number];
  /** CPU the sampler's thread used, and the whole process's since sampling began. */
  sampler_cpu_ns: number;
  process_cpu_ns: number;
  /** The sampler's own trouble, caught (at most 20). */
  errors: string[];
}

export function isRawStacks(value: unknown): value is RawStacks {
  const v = value as Partial<RawStacks> | null;
  return !!v && typeof v === "object" && v.schema === STACKS_SCHEMA && typeof v.pid === "number" && Array.isArray(v.stacks) && Array.isArray(v.codes);
}

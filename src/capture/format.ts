/**
 * The capture file format, `leaktrail.capture/1` — this file is its specification.
 *
 * A capture is JSON Lines: one JSON object per line, appended as data arrives and never
 * rewritten, so that whatever reached the disk before a `kill -9` (of the target or of the
 * CLI) is a valid capture up to its last complete line. The first line is a {@link Header};
 * every later line is a {@link CaptureRecord}, told apart by `k`. A reader skips record kinds it
 * does not know (forward compatibility) and ignores a torn last line.
 *
 * Records come from two writers: the agent inside each Python process (forwarded verbatim
 * by the CLI, which adds nothing but the line break) and the CLI itself (`child-exit`,
 * `cli-stop`). Agent records always carry `pid`: one run may hold many processes.
 *
 * Times `t` are seconds since the Unix epoch (float). Sizes are bytes.
 * docs/capture-format.md explains the same with examples.
 */

export const CAPTURE_SCHEMA = "leaktrail.capture/1";

/** First line of every capture. */
export interface Header {
  schema: typeof CAPTURE_SCHEMA;
  /** When the CLI started the run (epoch seconds). */
  created: number;
  /** The command the CLI ran, as given. */
  command: string[];
  /** The CLI's working directory: site files are reported relative to it. */
  cwd: string;
  /** Version of the leaktrail CLI that wrote the capture. */
  tool_version: string;
}

/** A frame of an allocation traceback. */
export type Frame = [file: string, line: number, func: string];

/** An agent said hello: one per Python process, first of its records. */
export interface HelloRecord {
  k: "hello";
  pid: number;
  ppid: number;
  t: number;
  /** `sys.version_info[:3]` joined by dots, e.g. "3.11.7". */
  python: string;
  /** `sys.argv` at the time the agent started (may be `[""]` before the script runs). */
  argv: string[];
  cwd: string;
  executable: string;
  /** Frames per tracemalloc traceback (0 when tracemalloc is off). */
  trace_frames: number;
  /**
   * "full": tracemalloc traced the whole run; "windows": only in short windows, whose
   * records carry `window`; "auto": full while tracing is cheap, then windows from a
   * `trace-switch` record on; "off": never. Absent in captures from before it existed: full.
   */
  trace_mode?: "full" | "windows" | "auto" | "off";
  /** Prefixes of files that are not the user's code: the standard library, site-packages. */
  library_paths: string[];
}

/**
 * Set on the measurements the agent takes at interpreter exit (from `atexit`). The
 * program has left its steady state by then (its main function returned), so trend
 * tests leave these out; where-allocated evidence keeps them.
 */
export interface FinalFlag {
  final?: boolean;
}

/** A cheap periodic measurement of the whole process. */
export interface SampleRecord extends FinalFlag {
  k: "sample";
  pid: number;
  t: number;
  /** Resident set size. */
  rss: number;
  /** Bytes of Python heap in use: tracemalloc's traced memory less the agent's own as last measured (-1 when unknown). */
  heap: number;
  /** Memory tracemalloc itself uses for its traces (part of rss, not of heap). */
  trace_overhead: number;
  /** `sys.getallocatedblocks()`, less the blocks the agent's own tracing windows kept: memory blocks Python's object allocator has handed out to the program. */
  blocks?: number;
  /** `gc.get_count()`: allocations minus deallocations per generation since its last collection. */
  gc_count: [number, number, number];
  /** Collections per generation so far (`gc.get_stats()`). */
  gc_collections: [number, number, number];
  /** Objects the collector freed, per generation, so far. */
  gc_collected: [number, number, number];
  /** Uncollectable objects found, per generation, so far. */
  gc_uncollectable: [number, number, number];
  /** Seconds spent in collections per generation so far, measured with `gc.callbacks`. */
  gc_pause: [number, number, number];
  /** `gc.isenabled()`. */
  gc_enabled: boolean;
  /** Objects moved to the permanent generation by `gc.freeze()` (0 before 3.7). */
  gc_frozen: number;
  /** `len(gc.garbage)`: uncollectable objects the collector handed to the program. */
  gc_garbage: number;
  threads: number;
  /** CPU seconds the agent itself has used so far (its own threads and callbacks). */
  agent_cpu: number;
}

/** Live objects counted by type, without holding any of them (DESIGN.md, Hazards). */
export interface CensusRecord extends FinalFlag {
  k: "census";
  pid: number;
  t: number;
  /** Wall seconds the count took (the target is slowed for at most this long). */
  seconds: number;
  /** Total gc-tracked objects. */
  objects: number;
  /** Count per type, keyed by "module.qualname" (e.g. "builtins.dict", "app.Session"). */
  types: Record<string, number>;
  /**
   * `types` holds only the types whose count changed since the previous census of the
   * same pid (0 for a type that is gone); the others are unchanged. Every 20th census,
   * and the final one, is whole. Readers rebuild whole counts; the model always holds them.
   */
  delta?: boolean;
}

/** Defines a traceback id used by `heap` and `objsites` records of the same pid. */
export interface TracebackRecord {
  k: "tb";
  pid: number;
  id: number;
  /** Innermost frame first: frames[0] is the line that allocated. */
  frames: Frame[];
}

/** A tracemalloc snapshot, grouped by allocation traceback. */
export interface HeapRecord extends FinalFlag {
  k: "heap";
  pid: number;
  t: number;
  seconds: number;
  /** Traced bytes in all, and how many blocks. */
  size: number;
  count: number;
  /** The largest sites: [traceback id, bytes, blocks]. Others are summed into `rest`. */
  sites: Array<[tb: number, size: number, count: number]>;
  rest: [size: number, count: number];
  /**
   * `sites` holds only the tracebacks whose bytes or blocks changed since the previous
   * heap record of the same pid ([tb, 0, 0] for one that left the list). Every 20th
   * record, the final one and window records are whole. The model rebuilds whole lists.
   */
  delta?: boolean;
  /**
   * In "windows" mode: [start, end] epoch seconds of the tracing window. The snapshot then
   * holds only what the window's allocations left alive, not the whole heap.
   */
  window?: [number, number] | null;
  /**
   * The window was surveyed in a forked copy: the process paused for the fork at the
   * window's end, and the record went out when the copy answered (seconds later, or at
   * exit on a machine with no idle CPU). Absent: surveyed in the process, until `t`.
   */
  copy?: boolean;
}

/** Where sampled live instances of one type were allocated (`tracemalloc` object tracebacks). */
export interface ObjSitesRecord {
  k: "objsites";
  pid: number;
  t: number;
  /** Type key, as in census. */
  type: string;
  /** Instances looked at. */
  instances: number;
  /** [traceback id, instances allocated there]. */
  sites: Array<[tb: number, count: number]>;
  /** Instances with no traceback (allocated before tracing began, or from a free list). */
  untraced: number;
  /** The type takes part in garbage collection (it can hold references to other objects). */
  gc: boolean;
  /** In "windows" mode: the tracing window whose surviving allocations these are. */
  window?: [number, number];
  /** As in heap records: the window was surveyed in a forked copy. */
  copy?: boolean;
  /**
   * Where the type is defined: "user" (the program's own Python code, or __main__),
   * "library" (Python code under the library paths), "builtin" (made in C). Absent in
   * older captures.
   */
  origin?: TypeOrigin;
}

export type TypeOrigin = "user" | "library" | "builtin";

/**
 * Cyclic garbage: objects alive but unreachable from any root, counted by type. Measured
 * in a forked copy of the process, so the target's own collector and finalizers never run.
 */
export interface GarbageRecord extends FinalFlag {
  k: "garbage";
  pid: number;
  t: number;
  seconds: number;
  /** gc-tracked objects examined. */
  objects: number;
  /** Unreachable objects in all, and per type key. */
  unreachable: number;
  types: Record<string, number>;
  /** Where unreachable objects were allocated: [type key, traceback id, count], largest first. */
  sites: Array<[type: string, tb: number, count: number]>;
}

/**
 * A forked copy of the process started walking its heap for a heap graph. Sent on the
 * copy's own connection, before the walk: the CLI keeps waiting for that connection after
 * the target has exited. A begin with no graph after it means the walk failed or was killed.
 */
export interface HeapGraphBeginRecord {
  k: "heap-graph-begin";
  /** The process whose heap it is (not the copy's pid). */
  pid: number;
  t: number;
  reason: HeapGraphReason;
}

/** "growth": taken while the run goes on; "exit": at the process's exit. */
export type HeapGraphReason = "growth" | "exit";

/**
 * The heap graph (why objects are alive): every object, its type and size, its labelled
 * references and the roots. `data` is the base64 of the zlib-compressed `LTHG` payload
 * that src/heap/format.ts specifies.
 */
export interface HeapGraphRecord {
  k: "heap-graph";
  pid: number;
  /** When the copy finished (its content is the heap at the fork, `pause_seconds` after the begin). */
  t: number;
  reason: HeapGraphReason;
  objects: number;
  edges: number;
  /** Seconds the process was paused: the fork, as the copy measured it. */
  pause_seconds: number;
  /** Seconds the copy took to walk the heap and encode the graph (the target runs meanwhile). */
  capture_seconds: number;
  /** Length of the uncompressed payload. */
  payload_bytes: number;
  /**
   * The copy's resident size when it began to walk and at its peak (bytes; absent where the
   * platform does not tell). The copy shares the target's pages until it writes to them —
   * reference counts do — so the peak bounds what a walk costs the machine.
   */
  copy_start_rss_bytes?: number;
  copy_peak_rss_bytes?: number;
  encoding: "zlib";
  data: string;
}

/** When the agent takes heap graphs (`--heap-graph`). */
export type HeapGraphMode = "auto" | "exit" | "off";
export const HEAP_GRAPH_MODES: readonly HeapGraphMode[] = ["auto", "exit", "off"];
export function isHeapGraphMode(value: string): value is HeapGraphMode {
  return (HEAP_GRAPH_MODES as readonly string[]).includes(value);
}

/** How the agent uses tracemalloc (`--trace`). */
export type TraceMode = "auto" | "windows" | "full";
export const TRACE_MODES: readonly TraceMode[] = ["auto", "windows", "full"];
export function isTraceMode(value: string): value is TraceMode {
  return (TRACE_MODES as readonly string[]).includes(value);
}

/**
 * In "auto" mode: tracing was found too costly (the traced program kept a CPU busy), so
 * the agent closed its first window — from start to now, with `heap` and `objsites`
 * records carrying `window` — and went on in "windows" mode.
 */
export interface TraceSwitchRecord {
  k: "trace-switch";
  pid: number;
  t: number;
  to: "windows";
  /** The program's CPU share while traced, over the last second. */
  cpu_share: number;
}

/** The agent's own trouble, caught: never raised into the target. */
export interface AgentErrorRecord {
  k: "agent-error";
  pid: number;
  t: number;
  where: string;
  message: string;
}

/** The agent's last words, from `atexit`. */
export interface ByeRecord {
  k: "bye";
  pid: number;
  t: number;
}

/** Written by the CLI when the command it started ended. */
export interface ChildExitRecord {
  k: "child-exit";
  t: number;
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: string | null;
}

/** Written by the CLI when it stopped the run itself (Ctrl-C, a deadline). */
export interface CliStopRecord {
  k: "cli-stop";
  t: number;
  reason: string;
}

export type AgentRecord =
  | HelloRecord
  | SampleRecord
  | CensusRecord
  | TracebackRecord
  | HeapRecord
  | ObjSitesRecord
  | GarbageRecord
  | AgentErrorRecord
  | TraceSwitchRecord
  | HeapGraphBeginRecord
  | HeapGraphRecord
  | ByeRecord;

export type CaptureRecord = AgentRecord | ChildExitRecord | CliStopRecord;

export const RECORD_KINDS: ReadonlySet<string> = new Set([
  "hello",
  "sample",
  "census",
  "tb",
  "heap",
  "objsites",
  "garbage",
  "agent-error",
  "trace-switch",
  "heap-graph-begin",
  "heap-graph",
  "bye",
  "child-exit",
  "cli-stop",
]);

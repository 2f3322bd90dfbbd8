/**
 * The data an HTML report embeds, `leaktrail.view/1` — this file is its specification
 * (docs/html.md explains the page). The page's script reads nothing else; the live server
 * sends the same object, whole, on every update.
 *
 * Everything here is bounded whatever the capture's size (DESIGN.md: a report must stay
 * small for a heap of millions of objects): timelines are downsampled, suspects, types,
 * processes and retainer paths are the top N, and the flame graph is pruned. Never a
 * whole heap graph, never one entry per object. The caps are in {@link VIEW_LIMITS}; what
 * they left out is counted in `omitted`.
 */
import type { HeapSummary, LeakKind, ProcessGroupSummary, RetainerPath, SiteRef } from "../report/schema.js";

export const VIEW_SCHEMA = "leaktrail.view/1";

/** The caps that keep a page small; each is a count of things shown. */
export const VIEW_LIMITS = {
  /** Buckets per timeline; each keeps its lowest and highest point (spikes survive). */
  timelineBuckets: 600,
  /** Processes with a timeline of their own (the lead first). */
  processes: 8,
  suspects: 10,
  /** Frames of a suspect's traceback. */
  tracebackFrames: 30,
  /** Lines of source shown around a suspect's site (before and after it). */
  sourceContext: 3,
  /** Characters of one source line. */
  sourceLineChars: 160,
  retainerPaths: 8,
  /** Steps of one retainer path; longer ones keep their ends and elide the middle. */
  retainerSteps: 16,
  types: 20,
  /** Points of a type's census sparkline. */
  typePoints: 120,
  flameNodes: 1500,
  /** A flame-graph node below this share of all bytes is folded into its parent. */
  flameMinShare: 0.001,
  gcBuckets: 200,
} as const;

/** A downsampled series: x in seconds since the process's first sample. */
export interface Points {
  xs: number[];
  ys: number[];
}

/** A straight line drawn over a series: the fitted trend after warm-up. */
export interface FitLine {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Units of y per second (bytes/s). */
  slope: number;
}

/** Collector activity over one process's run, bucketed in time. */
export interface GcView {
  /** Bucket start times (seconds since the process's first sample). */
  xs: number[];
  /** Bucket width, seconds. */
  width: number;
  /** Seconds spent in collections of generation 0, 1, 2 within each bucket. */
  pause: [number[], number[], number[]];
  /** Collections of generation 0, 1, 2 within each bucket. */
  collections: [number[], number[], number[]];
  /** Totals at the last sample, per generation. */
  totalPause: [number, number, number];
  totalCollections: [number, number, number];
  totalCollected: [number, number, number];
  uncollectable: number;
  /** The program turned the automatic collector off at some point. */
  disabledSeen: boolean;
}

export interface ProcessView {
  pid: number;
  /** The program, as a person names it: "python3 app.py". */
  label: string;
  python: string;
  leak: boolean;
  kind: LeakKind;
  /** The process the verdict is about. */
  lead: boolean;
  duration: number;
  /** Where the tested part of the heap series begins (seconds); 0 when none was found. */
  warmupEnd: number;
  /** What the heap line measures: traced bytes, or the allocator's block count scaled. */
  heapLabel: string;
  rss: Points;
  heap: Points;
  heapFit: FitLine | null;
  rssFit: FitLine | null;
  gc: GcView;
}

export interface SourceSnippet {
  /** Line number of `lines[0]`. */
  first: number;
  lines: string[];
  /** The site's line (1-based, as in the file). */
  mark: number;
}

/** A node of a retainer graph: one object on the way from a root to the leaked ones. */
export interface RetainerNode {
  id: number;
  /** "module.qualname" of the object. */
  type: string;
  size: number;
  retained: number;
  /** Sampled leaked objects reached through it. */
  objects: number;
  depth: number;
  /** A root (a module, a thread's frame, a reference from C). */
  root: boolean;
  /** The last step: the leaked objects themselves. */
  leaf: boolean;
}

export interface RetainerEdge {
  from: number;
  to: number;
  /** How the edge reads: ".INDEX", "['cat-3']", "[4]", "module app.cache". */
  label: string;
}

/** The retainer paths of one suspect merged into a tree (shared prefixes once). */
export interface RetainerGraph {
  nodes: RetainerNode[];
  edges: RetainerEdge[];
  /** Steps elided from the middle of paths longer than the cap. */
  elided: number;
}

export interface SuspectView {
  rank: number;
  site: SiteRef;
  traceback: SiteRef[];
  type: string;
  type_qualname: string;
  type_evidence: string;
  count_growth: number;
  size_growth_bytes: number;
  growth_bytes_per_s: number;
  share: number;
  pids: number[];
  retainers: string[];
  retained_bytes: number | null;
  retainer_paths: RetainerPath[];
  retainerGraph: RetainerGraph | null;
  source: SourceSnippet | null;
}

export interface TypeView {
  type: string;
  qualname: string;
  countStart: number;
  countEnd: number;
  perS: number;
  /** Trend test p-value; null for types listed by count change only. */
  p: number | null;
  /** The type's census count over time in the lead process. */
  series: Points;
}

/** One frame of the allocation flame graph (root: all traced bytes). */
export interface FlameNode {
  /** "function (file:line)", or "pid N …" for a process, "all" for the root. */
  name: string;
  /** Bytes allocated under this frame and still alive. */
  value: number;
  /** Library code (standard library, site-packages) rather than the program's own. */
  lib: boolean;
  children: FlameNode[];
}

export interface View {
  schema: typeof VIEW_SCHEMA;
  /** Epoch seconds when this view was built. */
  generated: number;
  /** Set while a live server sends updates; `ended` once the run is over. */
  live: { state: "waiting" | "running" | "ended"; updated: number } | null;
  command: string[];
  cwd: string;
  capture: string | null;
  verdict: {
    leak: boolean;
    kind: LeakKind;
    confidence: number;
    growth_bytes_per_s: number;
    explanation: string;
    /** No measurement yet (a live view before the first samples). */
    pending: boolean;
  };
  run: {
    exit_code: number | null;
    signal: string | null;
    stopped: string | null;
    capture_truncated: boolean;
  };
  processes: ProcessView[];
  groups: ProcessGroupSummary[];
  suspects: SuspectView[];
  types: TypeView[];
  /** "growing": the report's growing types; "changed": the largest count changes (no type grows). */
  typesMode: "growing" | "changed";
  flame: FlameNode | null;
  heap: HeapSummary | null;
  /** What the caps left out: processes, suspects, types, flame nodes. */
  omitted: { processes: number; suspects: number; types: number; flameNodes: number };
}

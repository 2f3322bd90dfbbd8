/**
 * The report JSON, `leaktrail.report/1` — a contract read by the corpus scorer and by
 * users' scripts (DESIGN.md). Fields may be added; none may change meaning without a new
 * schema version.
 */

export const REPORT_SCHEMA = "leaktrail.report/1";

export type LeakKind = "python-reachable" | "python-unreachable" | "native" | "none";

export interface SiteRef {
  /** Relative to the run's working directory when the file lies under it, else absolute. */
  file: string;
  line: number;
  function: string;
}

export interface Suspect {
  /** The first frame in the user's own code (not the standard library or site-packages). */
  site: SiteRef;
  /** The full allocation traceback, innermost frame first. */
  traceback: SiteRef[];
  /** `type(o).__name__` of the objects that grow there ("" when unknown). */
  type: string;
  /** "module.qualname" of that type. */
  type_qualname: string;
  /** How the type was tied to the site: sampled instances' allocation tracebacks, or a count match. */
  type_evidence: "object-traceback" | "unreachable-objects" | "census" | "none";
  count_growth: number;
  size_growth_bytes: number;
  growth_bytes_per_s: number;
  /** Share of the process's total Python-heap growth this suspect explains (0..1). */
  share: number;
  /**
   * Why the leaked objects stay alive: the most common path from a root to sampled leaked
   * objects, one step per string, e.g. ["module shop.catalog", ".INDEX", "ViewIndex",
   * "._by_category", "dict['cat-3']", "list", "tuple"]. Empty without a heap graph.
   */
  retainers: string[];
  /** Memory the leaking cluster holds: the retained size of the objects that the path reaches. */
  retained_bytes?: number;
  /** The distinct retainer paths to the sampled objects, clustered, most objects first. */
  retainer_paths?: RetainerPath[];
  /** The first of `pids`. */
  pid: number;
  /**
   * Every process whose own analysis named this site and type (suspects from several
   * processes merge into one; growth and counts are their sums), in ascending order.
   */
  pids?: number[];
  /**
   * Set when no process had evidence enough to name a suspect alone (short-lived workers):
   * the site's growth between each leaking process's first and last heap snapshot, summed
   * over the processes of this group (its `groups[].name`).
   */
  pooled_group?: string;
}

/** One step of a retainer path: the edge followed, and the object it leads to. */
export interface RetainerStep {
  /** How the edge reads: "module app.cache", ".INDEX", "['cat-3']", "[4]", "closure x", "local y", "__traceback__", "". */
  edge: string;
  /** "module.qualname" of the object reached. */
  type: string;
  /** Its shallow size in bytes. */
  size: number;
  /** What it keeps alive alone (its dominator-tree subtree), bytes. */
  retained: number;
}

/** Sampled leaked objects that share one path from a root (indices and keys may differ). */
export interface RetainerPath {
  steps: RetainerStep[];
  /** How many of the sampled objects this path reaches. */
  objects: number;
}

/** The heap graph behind `retainers` (one process's last graph). */
export interface HeapSummary {
  pid: number;
  objects: number;
  edges: number;
  /** Seconds the target was paused for the dump (the fork). */
  pause_seconds: number;
  /** Seconds the forked copy took to walk the heap and write the graph. */
  capture_seconds: number;
  /** Seconds the engine took for dominators, retained sizes and paths. */
  analysis_seconds: number;
  /** Objects alive but unreachable from any root (cycles the collector has not freed). */
  unreachable_objects: number;
}

export interface TypeGrowth {
  type: string;
  type_qualname: string;
  count_start: number;
  count_end: number;
  count_per_s: number;
  p: number;
}

export interface TimelinePoint {
  t: number;
  rss: number;
  heap: number;
}

export interface ProcessSummary {
  pid: number;
  argv: string[];
  python: string;
  duration_s: number;
  samples: number;
  leak: boolean;
  kind: LeakKind;
  rss_start: number;
  rss_end: number;
  heap_start: number;
  heap_end: number;
  rss_bytes_per_s: number;
  heap_bytes_per_s: number;
  warmup_end_s: number;
  agent_errors: string[];
  /** Parent process id, as the agent saw it when it started. */
  ppid?: number;
  /** Name of the group (`groups[].name`) this process belongs to. */
  group?: string;
  /** It lived long enough for its own trend fit; only judged processes count in the verdict. */
  judged?: boolean;
}

/**
 * Processes of one role: the command's root process(es), or the children of one group
 * that run the same argv (a server's workers, a pool's workers). Each process keeps its
 * own fit; a group only counts them.
 */
export interface ProcessGroupSummary {
  /** "gunicorn", "gunicorn worker", "tasks.py worker". */
  name: string;
  role: "root" | "children";
  /** Name of the parent processes' group (null for the root). */
  parent: string | null;
  argv: string[];
  /** Every process of the group, by start time. */
  pids: number[];
  /** Processes that lived long enough for a fit of their own; the others are counted, not judged. */
  judged: number[];
  /** Judged processes whose own series leaks. */
  leaking: number[];
  /** The group's verdict: most judged processes leak, with the same top site. */
  leak: boolean;
  /** The kind of leak of those processes ("none" when `leak` is false). */
  kind: LeakKind;
  /**
   * The top site (and type) most of its leaking processes share (the leaking processes'
   * common finding even when they are too few for `leak`); null when none leaks or none
   * named a site.
   */
  top_site: SiteRef | null;
  top_type: string;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  verdict: {
    leak: boolean;
    kind: LeakKind;
    confidence: number;
    growth_bytes_per_s: number;
    explanation: string;
  };
  suspects: Suspect[];
  growing_types: TypeGrowth[];
  processes: ProcessSummary[];
  /** The heap graph behind the suspects' retainers; absent when no graph was captured. */
  heap?: HeapSummary;
  /** The processes by role (one group for a single process); absent in reports made before. */
  groups?: ProcessGroupSummary[];
  run: {
    command: string[];
    cwd: string;
    exit_code: number | null;
    signal: string | null;
    stopped: string | null;
    capture_truncated: boolean;
  };
}

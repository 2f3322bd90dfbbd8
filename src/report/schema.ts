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
  retainers: string[];
  pid: number;
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
  run: {
    command: string[];
    cwd: string;
    exit_code: number | null;
    signal: string | null;
    stopped: string | null;
    capture_truncated: boolean;
  };
}

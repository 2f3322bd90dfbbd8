/**
 * `leaktrail.lines/1`: what python/leaktrail/lines.py writes for `leaktrail lines`, one JSON
 * file per process (`<pid>.json`) at its exit. docs/profile.md defines every column.
 */
export const LINES_SCHEMA = "leaktrail.lines/1";

/** [line, hits, allocated bytes, net bytes, kept bytes, kept blocks] */
export type LineRow = [line: number, hits: number, allocated: number, net: number, kept: number, blocks: number];

export interface LinesFunction {
  /** The --function text it matched, or "file:qualname" for a decorated function. */
  spec: string;
  /** Qualified name on 3.11+, plain name before. */
  name: string;
  file: string;
  first_line: number;
  last_line: number;
  /** Calls begun (a generator's resumes are not calls). */
  calls: number;
  /** Lines that ran or kept memory, in line order. */
  lines: LineRow[];
}

export interface RawLines {
  schema: typeof LINES_SCHEMA;
  pid: number;
  python: string;
  argv: string[];
  /** How line events were had: "monitoring" (sys.monitoring, 3.12+) or "settrace". */
  mode: "monitoring" | "settrace";
  /** tracemalloc frames per traceback. */
  frames: number;
  functions: LinesFunction[];
  /** --function texts that matched no function that ran in this process. */
  unmatched: string[];
  /** Bytes and blocks alive at a profiled call's end whose traceback shows no profiled line (other threads, or deeper than `frames`). */
  unattributed: [size: number, count: number];
  errors: string[];
}

export function isRawLines(value: unknown): value is RawLines {
  const v = value as Partial<RawLines> | null;
  return !!v && typeof v === "object" && v.schema === LINES_SCHEMA && typeof v.pid === "number" && Array.isArray(v.functions);
}

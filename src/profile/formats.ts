/**
 * Output formats of a profile, picked by the output file's extension: one registry, so
 * that help text and the error for an unknown extension list the same formats.
 */
import { toFolded } from "./folded.js";
import type { Profile } from "./model.js";
import { toPprofGz } from "./pprof.js";
import { toSpeedscope } from "./speedscope.js";
import { toSvg } from "./svg.js";

export interface ExportOptions {
  /** Column to show where a format shows one (svg, folded); default: the profile's own. */
  value?: number;
  /** A differential profile: columns before and after. */
  diff?: { before: number; after: number };
  title?: string;
}

export interface ProfileFormat {
  extension: string;
  description: string;
  write: (profile: Profile, opts: ExportOptions) => string | Buffer;
}

export const PROFILE_FORMATS: readonly ProfileFormat[] = [
  {
    extension: ".speedscope.json",
    description: "speedscope's file format (open at speedscope.app)",
    write: (p) => `${JSON.stringify(toSpeedscope(p))}\n`,
  },
  {
    extension: ".pb.gz",
    description: "gzipped pprof (go tool pprof, Pyroscope, Grafana)",
    write: (p) => toPprofGz(p),
  },
  {
    extension: ".svg",
    description: "an interactive flame graph",
    write: (p, o) => toSvg(p, { value: o.value ?? p.defaultValue, diff: o.diff, title: o.title }),
  },
  {
    extension: ".folded",
    description: "collapsed stacks (flamegraph.pl, inferno)",
    write: (p, o) => toFolded(p, o.diff ? [o.diff.before, o.diff.after] : [o.value ?? p.defaultValue]),
  },
];

/** The format for an output path, or null; the longest matching extension wins (.speedscope.json before .json). */
export function formatFor(path: string): ProfileFormat | null {
  const lower = path.toLowerCase();
  let best: ProfileFormat | null = null;
  for (const f of PROFILE_FORMATS) if (lower.endsWith(f.extension) && (!best || f.extension.length > best.extension.length)) best = f;
  return best;
}

export function formatList(): string {
  return PROFILE_FORMATS.map((f) => f.extension).join(", ");
}

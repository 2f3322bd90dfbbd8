/**
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json, version
 * 0.0.1 of `src/lib/file-format-spec.ts`): shared frames, and one "sampled" profile per
 * process, thread and value column, each sample a stack of frame indices, root first, with
 * its weight. Columns that are all zero are left out.
 */
import { functionLabel, type Profile, type ValueUnit } from "./model.js";

export const SPEEDSCOPE_SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json";

export interface SpeedscopeFrame {
  name: string;
  file?: string;
  line?: number;
}

export interface SpeedscopeSampledProfile {
  type: "sampled";
  name: string;
  unit: "none" | "nanoseconds" | "microseconds" | "milliseconds" | "seconds" | "bytes";
  startValue: number;
  endValue: number;
  samples: number[][];
  weights: number[];
}

export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA_URL;
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeSampledProfile[];
  name?: string;
  activeProfileIndex?: number;
  exporter?: string;
}

function unitOf(unit: ValueUnit): SpeedscopeSampledProfile["unit"] {
  return unit === "count" ? "none" : unit;
}

export function toSpeedscope(profile: Profile, exporter = "leaktrail"): SpeedscopeFile {
  // speedscope's frames are what its views merge on: one per function, like our flame graphs
  const frames: SpeedscopeFrame[] = profile.functions.map((f) => {
    const frame: SpeedscopeFrame = { name: functionLabel(f) };
    if (f.file) frame.file = f.file;
    if (f.startLine > 0) frame.line = f.startLine;
    return frame;
  });
  const groups = new Map<string, { pid: number; thread: string; value: number; samples: number[][]; weights: number[] }>();
  for (const s of profile.samples) {
    s.values.forEach((v, value) => {
      if (!v) return;
      const key = `${value}\0${s.pid}\0${s.thread}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { pid: s.pid, thread: s.thread, value, samples: [], weights: [] }));
      g.samples.push(s.stack.map((id) => profile.frames[id]!.fn));
      g.weights.push(v);
    });
  }
  const ordered = [...groups.values()].sort((a, b) => a.value - b.value || a.pid - b.pid || (a.thread < b.thread ? -1 : a.thread > b.thread ? 1 : 0));
  const profiles = ordered.map((g): SpeedscopeSampledProfile => {
    const vt = profile.valueTypes[g.value]!;
    const end = g.weights.reduce((a, b) => a + b, 0);
    return {
      type: "sampled",
      name: `${vt.label} — pid ${g.pid} ${g.thread}`,
      unit: unitOf(vt.unit),
      startValue: 0,
      endValue: end,
      samples: g.samples,
      weights: g.weights,
    };
  });
  // open on the busiest thread of the default column
  let active = 0;
  profiles.forEach((p, i) => {
    const g = ordered[i]!;
    const best = profiles[active]!;
    if (g.value === profile.defaultValue && (ordered[active]!.value !== profile.defaultValue || p.endValue > best.endValue)) active = i;
  });
  return { $schema: SPEEDSCOPE_SCHEMA_URL, shared: { frames }, profiles, name: profile.name, activeProfileIndex: active, exporter };
}

/**
 * Suspects for a group of short-lived processes that each leak but each lived too briefly
 * for the agent's slower looks (heap snapshots, object sites) to show a trend of their
 * own: a gunicorn worker recycled after 400 requests can be gone after a handful of
 * seconds, with one heap snapshot taken early and one at its exit.
 *
 * Each process still speaks for itself: a site's growth is measured inside one process,
 * from its first heap snapshot after its warm-up to its last (the one at exit included:
 * where-allocated evidence keeps it). Only then are processes added up, and a site counts only when it
 * grew in most of them.
 */
import type { Frame } from "../capture/format.js";
import type { Suspect } from "../report/schema.js";
import { FrameClassifier, shortTypeName, siteKey } from "./frames.js";
import type { ProcessData } from "./model.js";
import { isWindowed } from "./series.js";

/** Least growth, summed over the processes, that makes a site a suspect. */
const MIN_SITE_GROWTH_BYTES = 8192;
const MAX_POOLED_SUSPECTS = 5;

interface SiteLook {
  frame: Frame;
  traceback: Frame[];
  size: number;
  count: number;
}

/** Bytes and blocks per user site in one heap snapshot. */
function sitesOf(proc: ProcessData, frames: FrameClassifier, sites: Array<[number, number, number]>): Map<string, SiteLook> {
  const out = new Map<string, SiteLook>();
  for (const [tb, size, count] of sites) {
    const stack = proc.tracebacks.get(tb);
    const f = stack ? frames.userFrame(stack) : null;
    if (!stack || !f) continue;
    const key = siteKey(f);
    const s = out.get(key) ?? { frame: f, traceback: stack, size: 0, count: 0 };
    s.size += size;
    s.count += count;
    out.set(key, s);
  }
  return out;
}

interface Pooled {
  frame: Frame;
  traceback: Frame[];
  frames: FrameClassifier;
  biggest: number;
  size: number;
  count: number;
  grewIn: number;
  pids: number[];
  types: Map<string, number>;
}

/**
 * The snapshot a process's growth is measured from: its first from the end of its warm-up
 * (epoch seconds) on, when a later one follows; else its first. A snapshot taken before
 * the program's imports counted them as growth, and named its import line.
 */
function firstAfterWarmup(proc: ProcessData, warmupEnd: number): ProcessData["heaps"][number] {
  const heaps = proc.heaps;
  const i = heaps.findIndex((h) => h.t >= warmupEnd);
  return heaps[i >= 0 && i < heaps.length - 1 ? i : 0]!;
}

/**
 * Sites that grew, summed over `procs` (the leaking processes of one group, each with the
 * end of its warm-up), most bytes first. Empty when fewer than two heap snapshots exist in
 * any process, or with tracing windows (whose snapshots hold windows, not the heap).
 */
export function pooledSuspects(procs: Array<{ proc: ProcessData; warmupEnd: number }>, cwd: string, group: string): Suspect[] {
  const pooled = new Map<string, Pooled>();
  let contributors = 0;
  let heapGrowth = 0;
  let seconds = 0;
  for (const { proc, warmupEnd } of procs) {
    if (isWindowed(proc) || proc.heaps.length < 2) continue;
    const first = firstAfterWarmup(proc, warmupEnd);
    const last = proc.heaps[proc.heaps.length - 1]!;
    if (last.t <= first.t) continue;
    contributors++;
    heapGrowth += Math.max(0, last.size - first.size);
    seconds += last.t - first.t;
    const frames = new FrameClassifier(proc.hello?.library_paths ?? [], proc.hello?.cwd ?? cwd);
    const before = sitesOf(proc, frames, first.sites);
    const after = sitesOf(proc, frames, last.sites);
    // the type whose live instances were allocated at a site, from the object-site looks
    const typesAt = new Map<string, Map<string, number>>();
    const lastLook = new Map<string, Array<[number, number]>>();
    for (const r of proc.objsites) lastLook.set(r.type, r.sites);
    for (const [type, sites] of lastLook) {
      for (const [tb, n] of sites) {
        const stack = proc.tracebacks.get(tb);
        const f = stack ? frames.userFrame(stack) : null;
        if (!f) continue;
        const m = typesAt.get(siteKey(f)) ?? new Map<string, number>();
        m.set(type, (m.get(type) ?? 0) + n);
        typesAt.set(siteKey(f), m);
      }
    }
    for (const [key, a] of after) {
      const b = before.get(key);
      const size = a.size - (b?.size ?? 0);
      const count = a.count - (b?.count ?? 0);
      const p: Pooled = pooled.get(key) ?? {
        frame: a.frame, traceback: a.traceback, frames, biggest: -Infinity, size: 0, count: 0, grewIn: 0, pids: [], types: new Map(),
      };
      p.size += size;
      p.count += count;
      if (size > 0) {
        p.grewIn++;
        p.pids.push(proc.pid);
      }
      if (size > p.biggest) {
        p.biggest = size;
        p.traceback = a.traceback;
        p.frames = frames;
      }
      for (const [type, n] of typesAt.get(key) ?? []) p.types.set(type, (p.types.get(type) ?? 0) + n);
      pooled.set(key, p);
    }
  }
  const candidates = [...pooled.values()]
    .filter((p) => p.grewIn * 2 > contributors && p.size >= MIN_SITE_GROWTH_BYTES)
    .sort((a, b) => b.size - a.size)
    .slice(0, MAX_POOLED_SUSPECTS);
  return candidates.map((p) => {
    let typeKey = "";
    let most = 0;
    for (const [type, n] of p.types) {
      if (n > most) {
        most = n;
        typeKey = type;
      }
    }
    const pids = [...p.pids].sort((a, b) => a - b);
    return {
      site: p.frames.site(p.frame),
      traceback: p.frames.traceback(p.traceback),
      type: typeKey ? shortTypeName(typeKey) : "",
      type_qualname: typeKey,
      type_evidence: typeKey ? "object-traceback" : "none",
      count_growth: Math.max(0, Math.round(p.count)),
      size_growth_bytes: Math.round(p.size),
      growth_bytes_per_s: seconds > 0 ? p.size / seconds : 0,
      share: heapGrowth > 0 ? Math.min(1, p.size / heapGrowth) : 0,
      retainers: [],
      pid: pids[0]!,
      pids,
      pooled_group: group,
    } satisfies Suspect;
  });
}

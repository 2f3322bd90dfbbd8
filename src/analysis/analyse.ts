import type { ProcessData, CaptureModel } from "./model.js";
import { FrameClassifier, shortTypeName, siteKey } from "./frames.js";
import {
  censusTypeSeries,
  heapSeries,
  isWindowed,
  processStart,
  rssSeries,
  sampledHeapSeries,
  windowSeconds,
  siteSeries,
  uncollectableSeries,
  unreachableSeries,
  unreachableTypeSeries,
  type Series,
  type SiteSeries,
} from "./series.js";
import { trendTest, type TrendResult } from "./stats.js";
import { addRetainers } from "./retainers.js";
import { buildSuspects, growthOver, promoteClass, typeRanker, typeSites, type GrowingType } from "./suspects.js";
import { formatBytes, formatRate } from "../report/units.js";
import { pooledSuspects } from "./group-evidence.js";
import { partsToJudge } from "./trace-switch.js";
import { groupProcesses, mergeSuspects, summarizeGroup, type ProcessGroup } from "./process-groups.js";
import {
  REPORT_SCHEMA,
  type LeakKind,
  type ProcessSummary,
  type Report,
  type Suspect,
  type TypeGrowth,
} from "../report/schema.js";

/** Fewest objects a type must gain before its growth is worth a trend test. */
const MIN_TYPE_GROWTH = 20;
/** Fewest unreachable objects that make cyclic garbage a finding. */
const MIN_UNREACHABLE = 50;
/**
 * Least Python-heap growth, over the tested part of the run, that can be a leak: less is
 * a handful of objects (an interpreter cache settling, the agent's own bookkeeping
 * before its first snapshot measured it) however significant its trend.
 */
const MIN_HEAP_GROWTH_BYTES = 8192;
/** Python-heap growth below this share of RSS growth leaves RSS growth unexplained: native. */
const NATIVE_HEAP_SHARE = 0.25;
/**
 * Least RSS growth, over the tested part, that can be called native. While tracemalloc
 * traces every allocation, its own bookkeeping (a malloc per trace) fragments the C heap
 * and RSS creeps up by a few MB on allocation-heavy code that leaks nothing (measured:
 * +7 MB over 6 s on a dict filled and cleared in a loop).
 */
const NATIVE_MIN_GROWTH_BYTES = 8e6;
/**
 * Windows mode: heap growth called a leak without a growing type in the census. Free
 * lists and collections move the block count by tens of kB (~12 kB seen on a sawtooth).
 */
const UNCONFIRMED_MIN_GROWTH_BYTES = 48 * 1024;

export interface ProcessAnalysis {
  proc: ProcessData;
  summary: ProcessSummary;
  kind: LeakKind;
  confidence: number;
  growthPerS: number;
  explanation: string;
  suspects: Suspect[];
  growingTypes: TypeGrowth[];
  heap: Series;
  rss: Series;
  heapTrend: TrendResult | null;
  rssTrend: TrendResult | null;
}

function meanBlockBytes(site: { sizes: Series; counts: Series } | undefined): number {
  if (!site) return 1;
  const size = site.sizes.ys.reduce((a, b) => a + b, 0);
  const count = site.counts.ys.reduce((a, b) => a + b, 0);
  return count > 0 ? Math.max(1, size / count) : 1;
}

function test(series: Series, minPoints = 8): TrendResult | null {
  if (series.xs.length < minPoints) return null;
  return trendTest(series.xs, series.ys, { minPoints });
}

function confidenceOfLeak(t: TrendResult): number {
  return Math.min(0.9999, Math.max(0.5, 1 - t.p));
}

function confidenceOfNoLeak(t: TrendResult | null): number {
  if (!t) return 0.5;
  if (t.plateau || t.sawtooth) return 0.9;
  return Math.min(0.99, Math.max(0.5, 0.5 + t.p));
}

/** Types that tracing windows saw survive at the program's own sites, whose census count rose. */
function risingTypesSeenInWindows(proc: ProcessData, frames: FrameClassifier): GrowingType[] {
  const seen = new Set<string>();
  for (const r of proc.objsites) {
    if (!r.window) continue;
    for (const [tb] of r.sites) {
      const stack = proc.tracebacks.get(tb);
      if (stack && frames.userFrame(stack)) seen.add(r.type);
    }
  }
  const out: GrowingType[] = [];
  for (const key of seen) {
    const series = censusTypeSeries(proc, key);
    if (series.ys.length < 3) continue;
    const trend = trendTest(series.xs, series.ys, { minPoints: 3 });
    const countGrowth = growthOver(series);
    if (countGrowth < MIN_TYPE_GROWTH) continue;
    out.push({ key, series, trend, countGrowth, countStart: series.ys[0] ?? 0, countEnd: series.ys[series.ys.length - 1] ?? 0 });
  }
  return out.sort((a, b) => b.countGrowth - a.countGrowth);
}

/**
 * Types whose count grows. The census is sparse (a point every half second or more), and
 * a start-up peak among ten points can pass for the start of the series; so a type is
 * tested from its first point, and failing that from each later one while `minPoints`
 * remain: the first start at which it grows counts. Testing several starts would be too
 * lenient for deciding *whether* there is a leak; the heap series decides that, and
 * this only says what grows once it does.
 */
const MAX_LATER_STARTS = 8;

function growingTypesOf(seriesOf: (key: string) => Series, keys: Iterable<string>, minPoints: number): GrowingType[] {
  const out: GrowingType[] = [];
  for (const key of keys) {
    const whole = seriesOf(key);
    if (whole.ys.length < minPoints) continue;
    if (Math.max(...whole.ys) - Math.min(...whole.ys) < MIN_TYPE_GROWTH) continue;
    // A count that grows only after a while is tried from later starts too. At most about
    // eight of them: every start of a long run would cost n³ per type (thousands of census
    // types over thousands of points took minutes).
    const step = Math.max(1, Math.ceil((whole.ys.length - minPoints) / MAX_LATER_STARTS));
    for (let from = 0; whole.ys.length - from >= minPoints; from += step) {
      const series = from === 0 ? whole : { xs: whole.xs.slice(from), ys: whole.ys.slice(from) };
      const trend = trendTest(series.xs, series.ys, { minPoints });
      if (!trend.growing) continue;
      const countGrowth = growthOver(series, trend.start);
      if (countGrowth < MIN_TYPE_GROWTH) break;
      out.push({
        key,
        series,
        trend,
        countGrowth,
        countStart: series.ys[trend.start] ?? 0,
        countEnd: series.ys[series.ys.length - 1] ?? 0,
      });
      break;
    }
  }
  return out.sort((a, b) => b.countGrowth - a.countGrowth);
}

/**
 * Where a windows-mode process's objects were made. A process that switched from tracing
 * everything to windows has, besides its later windows, the switch's: every allocation
 * from the start to the switch, a far longer look than any later window. Short windows
 * miss some leaks' own sites: an object the interpreter takes from a free list (a tuple, a
 * float, a list, a dict) is no new allocation, and its block keeps the traceback of the
 * allocation that first made it, often before the window (the corpus's
 * slow_leak_in_churn.py: 300 tuples at its leaking line in the switch's window, none in
 * the later one). The switch's window says where objects were made, and which sites kept
 * the most bytes (the name of a cluster of types that grow together); not how fast the
 * heap grows — it holds everything built since the start. And it holds the start-up: only
 * sites the later windows saw keep something count (else the strings an import made,
 * traced to the program's import line, named a suspect).
 */
function siteEvidence(
  proc: ProcessData,
  frames: FrameClassifier,
  later: Map<string, SiteSeries>,
): { located: ProcessData; kept?: Map<string, number> } {
  const switched = proc.switchWindow;
  if (!switched || !isWindowed(proc)) return { located: proc };
  // bytes kept per site: the later windows' (already grouped) plus the switch's
  const kept = new Map<string, number>();
  for (const series of [later, siteSeries({ ...proc, heaps: switched.heaps }, frames)]) {
    for (const [key, s] of series) kept.set(key, (kept.get(key) ?? 0) + s.sizes.ys.reduce((a, b) => a + b, 0));
  }
  const seenLater = (tb: number) => {
    const stack = proc.tracebacks.get(tb);
    const f = stack ? frames.userFrame(stack) : null;
    return f !== null && later.has(siteKey(f));
  };
  const objsites = switched.objsites.map((r) => ({ ...r, sites: r.sites.filter(([tb]) => seenLater(tb)) }));
  return { located: { ...proc, objsites: [...objsites, ...proc.objsites] }, kept };
}

/**
 * Where a site's series, too short to find its own warm-up, begins after the heap's: its
 * first snapshot from the warm-up's end on (but for the last). Snapshots come about once a
 * second: a part of a few seconds (a process traced until an early switch to windows) has
 * two or three, the first before the program's imports, whose growth then named the
 * import line, not the leak.
 */
function fromWarmupEnd(series: Series, warmup: number): number {
  const first = series.xs.findIndex((x) => x >= warmup);
  return Math.max(0, Math.min(first < 0 ? 0 : first, series.xs.length - 2));
}

/** When a process's judged heap left its warm-up (epoch seconds). */
function warmupEndT(p: ProcessAnalysis): number {
  return processStart(p.proc) + (p.heapTrend ? p.heap.xs[p.heapTrend.start] ?? 0 : 0);
}

/** Above this Mann–Kendall p, the samples show no rise at all (judgedHeap). */
const NO_TREND_P = 0.05;

/**
 * The heap series a fully traced process is judged on, and its trend. Heap snapshots are
 * exact at their instant but come about once a second; collections free a program's
 * cyclic garbage every fraction of a second, and snapshots taken at random phases of that
 * sawtooth can line up into a small, significant rise (the corpus's ok_cycles_collected.py:
 * +14 kB over 8 s, p = 0.002, on a heap swinging 90-170 kB). The samples, ten a second,
 * resolve the sawtooth: when they show no rise at all, that is the verdict.
 */
function judgedHeap(proc: ProcessData): { heap: Series; heapTrend: TrendResult | null } {
  const heap = heapSeries(proc);
  const heapTrend = test(heap);
  if (isWindowed(proc) || !heapTrend?.growing) return { heap, heapTrend };
  const dense = sampledHeapSeries(proc);
  if (dense.xs.length <= heap.xs.length) return { heap, heapTrend };
  const denseTrend = test(dense);
  // Only a flat verdict overrules: no upward trend at all, or a sawtooth whose troughs do not
  // rise. A dense series that rose and levelled off, or fell back, may be the samples' own
  // error (they leave out the agent's own traced bytes as the last snapshot found them).
  const flat = denseTrend !== null && !denseTrend.growing && (denseTrend.sawtooth || denseTrend.p >= NO_TREND_P);
  return flat ? { heap: dense, heapTrend: denseTrend } : { heap, heapTrend };
}

/** A process's analysis; one that switched from tracing everything to windows leaks when either part does (trace-switch.ts). */
export function analyseProcess(proc: ProcessData, cwd: string): ProcessAnalysis {
  const judged = partsToJudge(proc).map((part) => analysePart(part, cwd));
  return judged.find((a) => a.kind !== "none") ?? (judged[0] as ProcessAnalysis);
}

function analysePart(proc: ProcessData, cwd: string): ProcessAnalysis {
  const frames = new FrameClassifier(proc.hello?.library_paths ?? [], proc.hello?.cwd ?? cwd);
  const rss = rssSeries(proc);
  const { heap, heapTrend } = judgedHeap(proc);
  const rssTrend = test(rss);
  const unreachable = unreachableSeries(proc);
  const unreachableTrend = test(unreachable, 5);
  const uncollectableTrend = test(uncollectableSeries(proc));
  const duration = Math.max(heap.xs[heap.xs.length - 1] ?? 0, rss.xs[rss.xs.length - 1] ?? 0);
  const warmup = heapTrend ? heap.xs[heapTrend.start] ?? 0 : 0;

  const lastUnreachable = unreachable.ys[unreachable.ys.length - 1] ?? 0;
  const unreachableLeak =
    (unreachableTrend?.growing === true && lastUnreachable >= MIN_UNREACHABLE) || uncollectableTrend?.growing === true;
  const heapGrowth = heapTrend ? Math.max(0, heapTrend.slope) * (duration - (heap.xs[heapTrend.start] ?? 0)) : 0;
  // slopeLow > 0: a sawtooth judged by its troughs must still rise over the whole part
  // (collected garbage waiting for a rare full collection raises the troughs for a while)
  const heapLeak = heapTrend?.growing === true && heapTrend.slopeLow > 0 && heapGrowth >= MIN_HEAP_GROWTH_BYTES;
  const rssLeak = rssTrend?.growing === true;
  const heapSlope = Math.max(0, heapTrend?.slope ?? 0);
  const rssSlope = Math.max(0, rssTrend?.slope ?? 0);
  const rssGrowth = rssSlope * (duration - (rssTrend ? rss.xs[rssTrend.start] ?? 0 : 0));

  let kind: LeakKind = "none";
  if (unreachableLeak) kind = "python-unreachable";
  else if (heapLeak) kind = "python-reachable";
  else if (rssLeak && heapSlope < NATIVE_HEAP_SHARE * rssSlope && rssGrowth >= NATIVE_MIN_GROWTH_BYTES) kind = "native";

  // What grows: types from the census (live objects) or from the garbage probes.
  const censusKeys = new Set<string>();
  for (const c of proc.census) for (const k of Object.keys(c.types)) censusKeys.add(k);
  // Six points suffice for a type: a strictly rising run of six has Mann–Kendall p ≈ 0.0014.
  let liveTypes = growingTypesOf((k) => censusTypeSeries(proc, k), censusKeys, 6);
  const garbageKeys = new Set<string>();
  for (const g of proc.garbage) for (const k of Object.keys(g.types)) garbageKeys.add(k);
  let unconfirmed = false;
  if (kind === "python-reachable" && isWindowed(proc) && liveTypes.length === 0) {
    if (heapGrowth < UNCONFIRMED_MIN_GROWTH_BYTES) {
      // With tracing windows the heap is the allocator's block count, which the
      // interpreter's free lists (freed objects parked, still allocated) and the full
      // collections that empty them move by hundreds of blocks. A small rise that the
      // census does not confirm — no type grows in number with it — is no leak.
      unconfirmed = true;
      kind = "none";
    } else {
      // The block count rose well past what free lists explain, but no type's census count
      // rose significantly (collections shift the census by hundreds when they untrack
      // containers): name the leak after types the windows saw survive at the program's
      // own sites whose census count at least rose.
      liveTypes = risingTypesSeenInWindows(proc, frames);
    }
  }
  const deadTypes = unreachableLeak ? growingTypesOf((k) => unreachableTypeSeries(proc, k), garbageKeys, 5) : [];

  const sites = siteSeries(proc, frames);
  const siteGrowth = new Map<string, number>();
  const growingSites = new Set<string>();
  if (isWindowed(proc)) {
    // A window's snapshot holds what its allocations left alive: bytes per window-second
    // at a site, times the tested span, estimates the site's growth. Allocations merely
    // in flight when a window closes look the same, so sites alone name no suspect here;
    // growing types do, and sites give them their bytes.
    const seconds = windowSeconds(proc);
    for (const [key, s] of sites) {
      const retained = s.sizes.ys.reduce((a, b) => a + b, 0);
      siteGrowth.set(key, seconds > 0 ? (retained / seconds) * Math.max(0, duration - warmup) : 0);
    }
  } else {
    for (const [key, s] of sites) {
      const t = test(s.sizes, 6);
      siteGrowth.set(key, growthOver(s.sizes, t?.start ?? fromWarmupEnd(s.sizes, warmup)));
      if (t?.growing && !frames.isLibrary(s.frame[0])) growingSites.add(key);
    }
  }

  let suspects: Suspect[] = [];
  if (kind === "python-unreachable") {
    suspects = buildSuspects({
      proc,
      frames,
      growingTypes: deadTypes,
      typeSites: typeSites(proc, frames, "garbage"),
      sites,
      growingSites: new Set(),
      siteGrowth,
      evidence: "unreachable-objects",
      totalGrowth: heapSlope * duration,
      durationS: duration,
    });
  } else if (kind === "python-reachable") {
    const evidence = siteEvidence(proc, frames, sites);
    suspects = buildSuspects({
      proc,
      frames,
      growingTypes: liveTypes,
      typeSites: typeSites(evidence.located, frames, "objsites"),
      sites,
      growingSites,
      siteGrowth,
      siteKept: evidence.kept,
      evidence: "object-traceback",
      blockBytes: isWindowed(proc) ? (key) => meanBlockBytes(sites.get(key)) : undefined,
      totalGrowth: heapSlope * (duration - warmup),
      durationS: duration - warmup,
    });
  }

  const growthPerS = kind === "native" ? rssSlope : kind === "none" ? 0 : heapSlope;
  const decisive = kind === "native" ? rssTrend : kind === "python-unreachable" ? unreachableTrend ?? uncollectableTrend : heapTrend;
  const confidence =
    kind === "none" ? Math.min(confidenceOfNoLeak(heapTrend), rssTrend?.growing ? 0.6 : 1) : decisive ? confidenceOfLeak(decisive) : 0.5;

  const explanation = explain({ kind, heapTrend, rssTrend, unreachableTrend, duration, warmup, suspects, proc, lastUnreachable, heapGrowth, unconfirmed });
  const typeGrowth: TypeGrowth[] = (kind === "python-unreachable" ? deadTypes : liveTypes).slice(0, 20).map((t) => ({
    type: shortTypeName(t.key),
    type_qualname: t.key,
    count_start: t.countStart,
    count_end: t.countEnd,
    count_per_s: t.trend.slope,
    p: t.trend.p,
  }));

  const first = proc.samples[0];
  const last = proc.samples[proc.samples.length - 1];
  const summary: ProcessSummary = {
    pid: proc.pid,
    argv: proc.hello?.argv ?? [],
    python: proc.hello?.python ?? "",
    duration_s: duration,
    samples: proc.samples.length,
    leak: kind !== "none",
    kind,
    rss_start: first?.rss ?? 0,
    rss_end: last?.rss ?? 0,
    heap_start: first?.heap ?? 0,
    heap_end: last?.heap ?? 0,
    rss_bytes_per_s: rssTrend?.slope ?? 0,
    heap_bytes_per_s: heapTrend?.slope ?? 0,
    warmup_end_s: warmup,
    agent_errors: proc.errors.map((e) => `${e.where}: ${e.message}`),
  };
  return {
    proc,
    summary,
    kind,
    confidence,
    growthPerS,
    explanation,
    suspects,
    growingTypes: typeGrowth,
    heap,
    rss,
    heapTrend,
    rssTrend,
  };
}

interface ExplainInput {
  kind: LeakKind;
  heapTrend: TrendResult | null;
  rssTrend: TrendResult | null;
  unreachableTrend: TrendResult | null;
  duration: number;
  warmup: number;
  suspects: Suspect[];
  proc: ProcessData;
  lastUnreachable: number;
  heapGrowth: number;
  /** The heap rose a little but no type's count did (windows mode). */
  unconfirmed?: boolean;
}

function pText(p: number): string {
  return p < 1e-4 ? "p < 0.0001" : `p = ${p.toFixed(4)}`;
}

function explain(e: ExplainInput): string {
  const span = `over ${e.duration.toFixed(1)} s` + (e.warmup > 0.05 ? ` (after a ${e.warmup.toFixed(1)} s warm-up)` : "");
  const top = e.suspects[0];
  const topText = top
    ? ` The main suspect: ${top.count_growth} more ${top.type || "objects"} allocated at ${top.site.file}:${top.site.line} in ${top.site.function}(), ${Math.round(top.share * 100)}% of the growth.`
    : "";
  switch (e.kind) {
    case "python-unreachable": {
      const gcOff = e.proc.samples.some((s) => !s.gc_enabled);
      return (
        `Unreachable objects pile up: ${e.lastUnreachable} objects are cyclic garbage that is never collected` +
        (gcOff ? " (the program turned automatic garbage collection off)" : "") +
        `; their number grows ${span}, ${pText(e.unreachableTrend?.p ?? 1)}.` +
        topText
      );
    }
    case "python-reachable": {
      const t = e.heapTrend as TrendResult;
      return (
        `The Python heap grows steadily at ${formatRate(t.slope)} ${span}: a robust slope (Theil–Sen, 95% interval ${formatRate(t.slopeLow)} to ${formatRate(t.slopeHigh)}) and a trend test (Mann–Kendall, ${pText(t.p)}) agree, and it is still rising at the end.` +
        topText
      );
    }
    case "native": {
      const t = e.rssTrend as TrendResult;
      return `Resident memory grows at ${formatRate(t.slope)} ${span} (${pText(t.p)}) while the Python heap does not (${formatRate(e.heapTrend?.slope ?? 0)}): the growth is outside Python's allocator — a C extension or library that allocates and never frees.`;
    }
    default: {
      const t = e.heapTrend;
      if (!t) return "Too few samples to judge: the program ended before leaktrail could measure a trend.";
      if (e.unconfirmed) {
        return `No leak: the allocator's block count rose by about ${formatBytes(e.heapGrowth)} ${span}, but no type of object grows in number with it — free lists and collections move the count that much.`;
      }
      if (t.growing) {
        return `No leak: the Python heap crept up by only ${formatBytes(e.heapGrowth)} ${span}, too little to be a leak (a handful of objects).`;
      }
      const why = t.plateau
        ? "it rose and then levelled off (a cache filling up, a one-time load)"
        : t.sawtooth
          ? "it rises and falls back again (batches that are released)"
          : t.reason.charAt(0).toLowerCase() + t.reason.slice(1).replace(/\.+$/, "");
      return `No leak: the Python heap does not grow steadily ${span} — ${why}.`;
    }
  }
}

const KIND_ORDER: Record<LeakKind, number> = { "python-unreachable": 3, "python-reachable": 2, native: 1, none: 0 };

/**
 * The whole report for a capture. Every process is analysed on its own series (never
 * their sum: recycled workers would make it a sawtooth); processes are grouped by role
 * (process-groups.ts); the run leaks when any judged process leaks, and the worst leak —
 * of the group whose processes agree most — leads.
 */
export interface AnalyseOptions {
  /** Explain suspects from heap graphs (dominators, retainer paths): off for live verdicts, which run often. */
  heap?: boolean;
}

export function analyse(model: CaptureModel, opts: AnalyseOptions = {}): { report: Report; processes: ProcessAnalysis[] } {
  const processes = model.processes.map((p) => analyseProcess(p, model.header.cwd));
  const groups = groupProcesses(processes);
  const groupOf = new Map<number, ProcessGroup>();
  for (const g of groups) for (const p of g.members) groupOf.set(p.proc.pid, g);

  const byGrowth = (a: ProcessAnalysis, b: ProcessAnalysis) => b.growthPerS - a.growthPerS || KIND_ORDER[b.kind] - KIND_ORDER[a.kind];
  const bestOf = (list: ProcessAnalysis[]) => [...list].sort(byGrowth)[0];
  const leaders = (g: ProcessGroup) => (g.leak ? g.agreeing : g.leaking);
  const leakingGroups = groups
    .filter((g) => g.leaking.length > 0)
    .sort((a, b) => Number(b.leak) - Number(a.leak) || byGrowth(bestOf(leaders(a))!, bestOf(leaders(b))!));
  const leadGroup = leakingGroups[0];
  const leaking = leadGroup !== undefined;
  const lead = leadGroup
    ? bestOf(leaders(leadGroup))
    : processes.reduce<ProcessAnalysis | undefined>((best, p) => (!best || p.summary.samples > best.summary.samples ? p : best), undefined);

  // Suspects: every judged leaking process's own, merged across processes by site and
  // type; a group whose agreeing processes each lived too briefly to name one gets
  // suspects pooled from their heap snapshots.
  const own = groups.flatMap((g) => g.leaking.flatMap((p) => p.suspects));
  const pooled = new Map<ProcessGroup, Suspect[]>();
  for (const g of groups) {
    if (g.leak && g.kind === "python-reachable" && g.agreeing.every((p) => p.suspects.length === 0)) {
      pooled.set(g, pooledSuspects(g.agreeing.map((p) => ({ proc: p.proc, warmupEnd: warmupEndT(p) })), model.header.cwd, g.name));
    }
  }
  const suspects = mergeSuspects([...own, ...[...pooled.values()].flat()]);
  const leadPid = lead?.proc.pid;
  const first = (s: Suspect) => Number((s.pids ?? [s.pid]).includes(leadPid ?? -1) || (leadGroup !== undefined && s.pooled_group === leadGroup.name));
  // the leading process's (or group's) suspects first, then the others', each by bytes
  suspects.sort((a, b) => first(b) - first(a) || b.size_growth_bytes - a.size_growth_bytes);
  promoteClass(suspects, typeRanker(processes.map((p) => p.proc)));
  const heap = opts.heap === false ? undefined : addRetainers(suspects, model, leadPid);

  for (const g of groups) {
    g.top = g.top ?? (pooled.get(g)?.[0] ?? null);
  }
  const leadPooled = leadGroup ? pooled.get(leadGroup)?.[0] : undefined;

  const summaries = processes.map((p) => {
    const g = groupOf.get(p.proc.pid);
    return { ...p.summary, ppid: p.proc.hello?.ppid ?? 0, group: g?.name ?? "", judged: g ? g.judged.includes(p) : false };
  });
  const report: Report = {
    schema: REPORT_SCHEMA,
    verdict: {
      leak: leaking,
      kind: lead && leaking ? lead.kind : "none",
      confidence: lead ? Number(lead.confidence.toFixed(4)) : 0,
      growth_bytes_per_s: lead && leaking ? Math.round(lead.growthPerS) : 0,
      explanation: lead
        ? processes.length === 1
          ? lead.explanation
          : explainTree(groups, lead, groupOf.get(lead.proc.pid), leaking, leadPooled)
        : "No Python process reported: nothing was measured.",
    },
    suspects,
    ...(heap ? { heap } : {}),
    growing_types: lead?.growingTypes ?? [],
    processes: summaries,
    groups: groups.map((g) => summarizeGroup(g, g.top)),
    run: {
      command: model.header.command,
      cwd: model.header.cwd,
      exit_code: model.childExit?.code ?? null,
      signal: model.childExit?.signal ?? null,
      stopped: model.cliStop?.reason ?? null,
      capture_truncated: model.truncated,
    },
  };
  return { report, processes };
}

function pidList(ps: ProcessAnalysis[], max = 6): string {
  const pids = ps.map((p) => p.proc.pid).sort((a, b) => a - b);
  return pids.length <= max ? pids.join(", ") : `${pids.slice(0, max).join(", ")}, …`;
}

/** "3 of 4 gunicorn worker processes leak at app.py:9 (bytes), pids …" */
function groupSentence(g: ProcessGroup): string {
  const unjudged = g.members.length - g.judged.length;
  const brief = unjudged > 0 ? `; ${unjudged} more had too short a series after warm-up to judge` : "";
  const where = g.leak && g.top ? ` at ${g.top.site.file}:${g.top.site.line}${g.top.type ? ` (${g.top.type})` : ""}` : "";
  if (g.leaking.length === 0) {
    if (g.judged.length === 0) return `no ${g.name} process had a series long enough to judge (${g.members.length} in all)`;
    return g.members.length === 1 ? `the ${g.name} process (pid ${g.members[0]!.proc.pid}) does not leak` : `none of ${g.judged.length} judged ${g.name} processes leaks${brief}`;
  }
  if (g.members.length === 1) return `the ${g.name} process (pid ${g.members[0]!.proc.pid}) leaks${where}`;
  const n = g.leaking.length;
  return `${n} of ${g.judged.length} ${g.name} ${g.judged.length === 1 ? "process" : "processes"} ${n === 1 ? "leaks" : "leak"}${where} (pid${n === 1 ? "" : "s"} ${pidList(g.leaking)}), each judged on its own series${brief}`;
}

function explainTree(
  groups: ProcessGroup[],
  lead: ProcessAnalysis,
  leadGroup: ProcessGroup | undefined,
  leaking: boolean,
  pooled: Suspect | undefined,
): string {
  const ordered = leadGroup ? [leadGroup, ...groups.filter((g) => g !== leadGroup)] : groups;
  const sentences = ordered.map(groupSentence);
  const head = sentences.join("; ");
  const total = groups.reduce((n, g) => n + g.members.length, 0);
  const intro = leaking ? "" : `No process of the ${total} leaks: `;
  const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
  const where = leaking ? `In pid ${lead.proc.pid}, the fastest:` : `In pid ${lead.proc.pid}, measured longest:`;
  const pooledText = pooled
    ? ` None of those processes had evidence enough (heap snapshots, object sites) to name a suspect alone; pooled over them, ${pooled.count_growth} more ${pooled.type || "blocks"} were allocated at ${pooled.site.file}:${pooled.site.line} in ${pooled.site.function}(), ${Math.round(pooled.share * 100)}% of their growth.`
    : "";
  return `${capital(intro + head)}. ${where} ${lead.explanation}${pooledText}`;
}

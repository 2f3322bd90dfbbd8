import type { ProcessAnalysis } from "../analysis/analyse.js";
import { FrameClassifier, shortTypeName } from "../analysis/frames.js";
import type { CaptureModel, ProcessData } from "../analysis/model.js";
import { programName } from "../analysis/process-groups.js";
import { censusTypeSeries, isWindowed, type Series } from "../analysis/series.js";
import { median, type TrendResult } from "../analysis/stats.js";
import type { Report, Suspect } from "../report/schema.js";
import { allocationStacks } from "./alloc-stacks.js";
import { downsample } from "./downsample.js";
import { buildFlame } from "./flame.js";
import { gcView } from "./gc-view.js";
import { retainerGraph } from "./retainer-graph.js";
import { SourceReader } from "./source-lines.js";
import { VIEW_LIMITS as L, VIEW_SCHEMA, type FitLine, type ProcessView, type SuspectView, type TypeView, type View } from "./view-model.js";

export interface ViewInput {
  model: CaptureModel;
  report: Report;
  /** The per-process analyses `analyse()` returned with the report. */
  processes: ProcessAnalysis[];
  capturePath?: string | null;
  live?: View["live"];
}

/**
 * The fitted trend drawn over a series: the Theil–Sen slope the verdict used, through the
 * median of the tested part's residuals (Theil–Sen's own intercept), from warm-up end to
 * the last point.
 */
export function fitLine(series: Series, trend: TrendResult | null): FitLine | null {
  if (!trend || !Number.isFinite(trend.slope)) return null;
  const xs = series.xs.slice(trend.start);
  const ys = series.ys.slice(trend.start);
  if (xs.length < 2) return null;
  const intercept = median(ys.map((y, i) => y - trend.slope * (xs[i] as number)));
  const x0 = xs[0] as number;
  const x1 = xs[xs.length - 1] as number;
  return { x0, x1, y0: intercept + trend.slope * x0, y1: intercept + trend.slope * x1, slope: trend.slope };
}

/** The process the verdict is about: the top suspect's, else the fastest leaking one, else the longest measured. */
export function leadPid(report: Report): number | null {
  const top = report.suspects[0];
  if (top) return top.pid;
  const leaking = report.processes.filter((p) => p.leak && p.kind === report.verdict.kind);
  const pick = (leaking.length ? leaking : report.processes).reduce<Report["processes"][number] | undefined>(
    (best, p) =>
      !best || (report.verdict.leak ? p.heap_bytes_per_s > best.heap_bytes_per_s : p.samples > best.samples) ? p : best,
    undefined,
  );
  return pick?.pid ?? null;
}

function processLabel(proc: ProcessData): string {
  const argv = proc.hello?.argv ?? [];
  const exe = proc.hello?.executable ?? "python";
  const name = programName(argv, exe);
  return `${name}${argv.length > 1 ? ` ${argv.slice(1).join(" ")}` : ""}`.slice(0, 120);
}

function processView(a: ProcessAnalysis, lead: boolean): ProcessView {
  return {
    pid: a.proc.pid,
    label: processLabel(a.proc),
    python: a.proc.hello?.python ?? "",
    leak: a.kind !== "none",
    kind: a.kind,
    lead,
    duration: a.summary.duration_s,
    warmupEnd: a.summary.warmup_end_s,
    heapLabel: isWindowed(a.proc) ? "Python heap (allocator blocks × bytes per block)" : "Python heap (tracemalloc)",
    rss: downsample(a.rss.xs, a.rss.ys, L.timelineBuckets),
    heap: downsample(a.heap.xs, a.heap.ys, L.timelineBuckets),
    heapFit: fitLine(a.heap, a.heapTrend),
    rssFit: a.kind === "native" ? fitLine(a.rss, a.rssTrend) : null,
    gc: gcView(a.proc, L.gcBuckets),
  };
}

function suspectView(s: Suspect, rank: number, source: SourceReader): SuspectView {
  const paths = (s.retainer_paths ?? []).slice(0, L.retainerPaths);
  return {
    rank,
    site: s.site,
    traceback: s.traceback.slice(0, L.tracebackFrames),
    type: s.type,
    type_qualname: s.type_qualname,
    type_evidence: s.type_evidence,
    count_growth: s.count_growth,
    size_growth_bytes: s.size_growth_bytes,
    growth_bytes_per_s: s.growth_bytes_per_s,
    share: s.share,
    pids: s.pids ?? [s.pid],
    retainers: s.retainers.slice(0, 2 * L.retainerSteps),
    retained_bytes: s.retained_bytes ?? null,
    retainer_paths: paths.map((p) => ({ ...p, steps: p.steps.slice(0, 4 * L.retainerSteps) })),
    retainerGraph: retainerGraph(paths, L.retainerPaths, L.retainerSteps),
    source: source.snippet(s.site.file, s.site.line),
  };
}

/** The report's growing types, with their census series; else the types whose count changed most. */
function typeViews(report: Report, lead: ProcessData | undefined): { types: TypeView[]; mode: View["typesMode"]; omitted: number } {
  const series = (qualname: string) => {
    if (!lead) return { xs: [], ys: [] };
    const s = censusTypeSeries(lead, qualname);
    return downsample(s.xs, s.ys, L.typePoints / 2);
  };
  if (report.growing_types.length > 0) {
    const types = report.growing_types.slice(0, L.types).map((t) => ({
      type: t.type,
      qualname: t.type_qualname,
      countStart: t.count_start,
      countEnd: t.count_end,
      perS: t.count_per_s,
      p: t.p,
      series: series(t.type_qualname),
    }));
    return { types, mode: "growing", omitted: Math.max(0, report.growing_types.length - L.types) };
  }
  const census = (lead?.census ?? []).filter((c) => !c.final);
  const first = census[0];
  const last = census[census.length - 1];
  if (!first || !last || first === last) return { types: [], mode: "changed", omitted: 0 };
  const span = last.t - first.t || 1;
  const changes = Object.keys({ ...first.types, ...last.types })
    .map((k) => ({ k, a: first.types[k] ?? 0, b: last.types[k] ?? 0 }))
    .filter((c) => c.a !== c.b)
    .sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a));
  const types = changes.slice(0, 10).map((c) => ({
    type: shortTypeName(c.k),
    qualname: c.k,
    countStart: c.a,
    countEnd: c.b,
    perS: (c.b - c.a) / span,
    p: null,
    series: series(c.k),
  }));
  return { types, mode: "changed", omitted: Math.max(0, changes.length - 10) };
}

/** A placeholder for a live page before any Python process has reported. */
export function pendingView(command: string[], cwd: string, capturePath: string | null, live: View["live"]): View {
  return {
    schema: VIEW_SCHEMA,
    generated: Date.now() / 1000,
    live,
    command,
    cwd,
    capture: capturePath,
    verdict: {
      leak: false,
      kind: "none",
      confidence: 0,
      growth_bytes_per_s: 0,
      explanation: "Waiting for the first measurements from the program…",
      pending: true,
    },
    run: { exit_code: null, signal: null, stopped: null, capture_truncated: false },
    processes: [],
    groups: [],
    suspects: [],
    types: [],
    typesMode: "growing",
    flame: null,
    heap: null,
    omitted: { processes: 0, suspects: 0, types: 0, flameNodes: 0 },
  };
}

/** Everything the page shows, bounded by VIEW_LIMITS whatever the capture's size. */
export function buildView(input: ViewInput): View {
  const { model, report } = input;
  const cwd = model.header.cwd;
  const leadId = leadPid(report);
  const byPid = new Map(input.processes.map((p) => [p.proc.pid, p]));
  // the lead, then leaking processes, then the longest measured
  const ordered = [...input.processes].sort(
    (a, b) =>
      Number(b.proc.pid === leadId) - Number(a.proc.pid === leadId) ||
      Number(b.kind !== "none") - Number(a.kind !== "none") ||
      b.summary.samples - a.summary.samples,
  );
  const shown = ordered.slice(0, L.processes);
  const lead = leadId !== null ? byPid.get(leadId)?.proc : shown[0]?.proc;
  const hello = lead?.hello;
  const frames = new FrameClassifier(hello?.library_paths ?? [], hello?.cwd ?? cwd);
  const source = new SourceReader(cwd, L.sourceContext, L.sourceLineChars);
  const flame = buildFlame(allocationStacks(model), {
    maxNodes: L.flameNodes,
    minShare: L.flameMinShare,
    isLibrary: (f) => frames.isLibrary(f),
    display: (f) => frames.display(f),
    processLabel: (pid) => {
      const p = byPid.get(pid)?.proc;
      return `pid ${pid}${p ? ` ${processLabel(p)}` : ""}`;
    },
  });
  const types = typeViews(report, lead);
  return {
    schema: VIEW_SCHEMA,
    generated: Date.now() / 1000,
    live: input.live ?? null,
    command: report.run.command,
    cwd,
    capture: input.capturePath ?? null,
    verdict: { ...report.verdict, pending: false },
    run: {
      exit_code: report.run.exit_code,
      signal: report.run.signal,
      stopped: report.run.stopped,
      capture_truncated: report.run.capture_truncated,
    },
    processes: shown.map((p) => processView(p, p.proc.pid === (lead?.pid ?? -1))),
    groups: (report.groups ?? []).slice(0, 20),
    suspects: report.suspects.slice(0, L.suspects).map((s, i) => suspectView(s, i + 1, source)),
    types: types.types,
    typesMode: types.mode,
    flame: flame.root,
    heap: report.heap ?? null,
    omitted: {
      processes: ordered.length - shown.length,
      suspects: Math.max(0, report.suspects.length - L.suspects),
      types: types.omitted,
      flameNodes: flame.omitted,
    },
  };
}

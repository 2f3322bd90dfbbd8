import { writeFileSync } from "node:fs";
import { CaptureError } from "../capture/reader.js";
import { analyseHeap, explainTargets, pickTargets, type HeapAnalysis } from "../heap/analyse-heap.js";
import { decodeGraphRecord, readCaptureGraphs, type HeapGraphRecord } from "../heap/capture-graphs.js";
import { dotToSvg, heapDot } from "../heap/dot.js";
import { HeapGraphError } from "../heap/errors.js";
import { writeHeapSnapshot } from "../heap/heapsnapshot.js";
import { renderExplanation, renderTypeDiff, renderTypeTable } from "../heap/text.js";
import { diffTypeTables, typeTable } from "../heap/type-table.js";
import { formatBytes } from "../report/units.js";
import { UsageError } from "./errors.js";
import { helpFor, numberOption, parseOptions, type OptionTable } from "./options.js";

export const HEAP_OPTIONS = {
  pid: { type: "string", value: "PID", help: "the process whose graph to read (default: the one of the capture's last graph)" },
  diff: { type: "string", value: "CAPTURE", help: "what changed by type since the last graph of this other (earlier) capture" },
  "diff-first": { type: "boolean", help: "what changed by type between the first and the last graph of CAPTURE" },
  why: { type: "string", value: "TYPE", help: "why objects of TYPE are alive: retainer paths from roots, clustered" },
  site: { type: "string", value: "FILE:LINE", help: "with --why: prefer objects allocated at this line" },
  graph: { type: "string", value: "TYPE|@ID", help: "draw who refers to some objects of TYPE (or node ID) as DOT or SVG (-o)" },
  refs: { type: "boolean", help: "with --graph: draw what they refer to instead" },
  depth: { type: "string", value: "N", help: "with --graph: edges away from the objects (default 5 back, 3 forward)" },
  "max-nodes": { type: "string", value: "N", help: "with --graph: nodes drawn at most (default 60)" },
  output: { type: "string", short: "o", value: "FILE", help: "with --graph: where to write (.dot, or .svg through Graphviz)" },
  heapsnapshot: { type: "string", value: "FILE", help: "export the graph as a Chrome .heapsnapshot (DevTools, memlab)" },
  top: { type: "string", value: "N", help: "rows of the tables (default 25)" },
  json: { type: "boolean", help: "print JSON instead of text" },
  help: { type: "boolean", short: "h", help: "show this help" },
} satisfies OptionTable;

const USAGE = "leaktrail heap [options] CAPTURE";
const SUMMARY =
  "Reads the heap graph in a capture: the objects by type with their retained sizes (the default), what changed between two graphs, why objects of a type are alive, a picture around them, or a Chrome .heapsnapshot.";
/** What to do when a capture has no graph (kept in one place for when the agent's option changes). */
export const NO_GRAPH_HINT = "take one with the agent's heap dump (see docs/heap-graph.md)";

export function heapCommand(argv: string[]): number {
  const { values: v, positionals } = parseOptions("heap", argv, HEAP_OPTIONS);
  if (v.help) {
    process.stdout.write(helpFor(USAGE, SUMMARY, HEAP_OPTIONS));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`heap: give exactly one capture file (usage: ${USAGE})`);
  const modes = [v.diff !== undefined, !!v["diff-first"], v.why !== undefined, v.graph !== undefined, v.heapsnapshot !== undefined].filter(Boolean).length;
  if (modes > 1) throw new UsageError("heap: give one of --diff, --diff-first, --why, --graph, --heapsnapshot at a time");
  if (v.graph !== undefined && !v.output) throw new UsageError("heap: --graph needs -o FILE (.dot or .svg)");
  if (v.output && v.graph === undefined) throw new UsageError("heap: -o goes with --graph");
  const pid = v.pid === undefined ? undefined : numberOption("heap", "pid", v.pid, 0, 1, 2 ** 31);
  const top = numberOption("heap", "top", v.top, 25, 1, 1e6);
  const path = positionals[0] as string;
  try {
    const records = graphsOf(path, pid);
    const last = records[records.length - 1]!;
    const { analysis } = load(last);
    if (v.diff !== undefined || v["diff-first"]) {
      const before = v.diff !== undefined ? lastOf(graphsOf(v.diff, undefined)) : records[0]!;
      if (v["diff-first"] && records.length < 2) throw new UsageError(`heap: ${path} holds one heap graph of pid ${last.pid}; --diff-first needs two`);
      const diff = diffTypeTables(typeTable(load(before).analysis), typeTable(analysis));
      if (v.json) print({ schema: "leaktrail.heap-diff/1", before: summary(before, undefined), after: summary(last, analysis), types: diff });
      else process.stdout.write(`${heading(last, analysis)}changes by type since the graph of pid ${before.pid} at ${when(before)}:\n\n${renderTypeDiff(diff, top)}`);
      return 0;
    }
    if (v.why !== undefined) {
      const all = pickTargets(analysis.graph, v.why, { site: v.site, max: Number.MAX_SAFE_INTEGER });
      const targets = pickTargets(analysis.graph, v.why, { site: v.site });
      const ex = explainTargets(analysis.graph, analysis, targets);
      if (v.json) print({ schema: "leaktrail.heap-why/1", ...summary(last, analysis), type: v.why, objects: all.length, sampled: ex.targets, retainers: ex.retainers, retained_bytes: ex.retainedBytes, retainer_paths: ex.clusters.map((c) => ({ ...c.path, retained_bytes: c.retainedBytes })) });
      else process.stdout.write(heading(last, analysis) + "\n" + renderExplanation(v.why, ex, all.length));
      return 0;
    }
    if (v.graph !== undefined) return drawGraph(analysis, v.graph, v.output!, { refs: !!v.refs, depth: v.depth, maxNodes: v["max-nodes"] });
    if (v.heapsnapshot !== undefined) {
      const stats = writeHeapSnapshot(analysis.graph, v.heapsnapshot, analysis);
      if (v.json) print({ schema: "leaktrail.heap-export/1", file: v.heapsnapshot, ...stats });
      else process.stdout.write(`wrote ${v.heapsnapshot}: ${stats.nodes.toLocaleString("en-US")} nodes, ${stats.edges.toLocaleString("en-US")} edges, ${formatBytes(stats.bytes)} (open it in Chrome DevTools → Memory → Load, or with memlab)\n`);
      return 0;
    }
    const table = typeTable(analysis);
    if (v.json) print({ schema: "leaktrail.heap/1", ...summary(last, analysis), types: table.rows });
    else process.stdout.write(heading(last, analysis) + "\n" + renderTypeTable(table, top));
    return 0;
  } catch (err) {
    if (err instanceof CaptureError || err instanceof HeapGraphError) throw new UsageError(`heap: ${err.message}`);
    throw err;
  }
}

function graphsOf(path: string, pid: number | undefined): HeapGraphRecord[] {
  const { graphs } = readCaptureGraphs(path);
  if (graphs.length === 0) throw new UsageError(`heap: ${path} holds no heap graph: ${NO_GRAPH_HINT}`);
  const chosen = pid ?? graphs[graphs.length - 1]!.pid;
  const mine = graphs.filter((g) => g.pid === chosen);
  if (mine.length === 0) {
    const pids = [...new Set(graphs.map((g) => g.pid))].join(", ");
    throw new UsageError(`heap: ${path} holds no heap graph of pid ${chosen} (it has graphs of pid ${pids})`);
  }
  return mine;
}

const lastOf = (rs: HeapGraphRecord[]) => rs[rs.length - 1]!;

function load(r: HeapGraphRecord): { analysis: HeapAnalysis } {
  return { analysis: analyseHeap(decodeGraphRecord(r)) };
}

function when(r: HeapGraphRecord): string {
  return `${new Date(r.t * 1000).toISOString().replace("T", " ").slice(0, 19)}${r.reason ? ` (${r.reason})` : ""}`;
}

function heading(r: HeapGraphRecord, a: HeapAnalysis): string {
  const g = a.graph;
  const unreachable = a.unreachableCount ? `, ${a.unreachableCount.toLocaleString("en-US")} unreachable (cycles not yet collected)` : "";
  return `heap graph of pid ${r.pid} at ${when(r)}: ${g.nodeCount.toLocaleString("en-US")} objects, ${g.edgeCount.toLocaleString("en-US")} references, ${formatBytes(a.retained[g.nodeCount]!)}${unreachable}; analysed in ${a.seconds.toFixed(2)} s\n`;
}

function summary(r: HeapGraphRecord, a: HeapAnalysis | undefined) {
  return {
    pid: r.pid,
    t: r.t,
    reason: r.reason ?? null,
    objects: r.objects,
    edges: r.edges,
    pause_seconds: r.pause_seconds ?? null,
    capture_seconds: r.capture_seconds ?? null,
    ...(a ? { bytes: a.retained[a.graph.nodeCount]!, unreachable_objects: a.unreachableCount, analysis_seconds: a.seconds } : {}),
  };
}

function drawGraph(a: HeapAnalysis, what: string, out: string, o: { refs: boolean; depth?: string; maxNodes?: string }): number {
  const g = a.graph;
  let centres: number[];
  if (what.startsWith("@")) {
    const id = Number(what.slice(1));
    if (!Number.isInteger(id) || id < 0 || id >= g.nodeCount) throw new UsageError(`heap: --graph ${what}: no such node (ids run from 0 to ${g.nodeCount - 1})`);
    centres = [id];
  } else {
    centres = pickTargets(g, what, { max: 3 });
    if (centres.length === 0) throw new UsageError(`heap: --graph ${what}: no object of that type in the graph`);
  }
  const depth = o.depth === undefined ? undefined : numberOption("heap", "depth", o.depth, 5, 1, 100);
  const maxNodes = o.maxNodes === undefined ? undefined : numberOption("heap", "max-nodes", o.maxNodes, 60, 1, 100000);
  const dot = heapDot(a, centres, { direction: o.refs ? "refs" : "backrefs", depth, maxNodes });
  if (out.endsWith(".svg")) writeFileSync(out, dotToSvg(dot));
  else if (out.endsWith(".dot") || out.endsWith(".gv")) writeFileSync(out, dot);
  else throw new UsageError(`heap: -o ${out}: name a .dot or .svg file`);
  process.stdout.write(`wrote ${out}: ${o.refs ? "what" : "who refers to"} ${what.startsWith("@") ? `node ${what.slice(1)}` : `${centres.length} ${what} object${centres.length === 1 ? "" : "s"}`}${o.refs ? " refers to" : ""}\n`);
  return 0;
}

function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

import type { HeapGraphRecord } from "../capture/format.js";
import { analyseHeap, explainTargets, heapSummary, type HeapAnalysis } from "../heap/analyse-heap.js";
import { decodeGraphRecord } from "../heap/capture-graphs.js";
import type { HeapGraph } from "../heap/format.js";
import { instancesOf, spread } from "../heap/targets.js";
import type { HeapSummary, Suspect } from "../report/schema.js";
import type { CaptureModel } from "./model.js";

/** Suspects explained from heap graphs: the first few are the ones people read. */
const EXPLAINED_SUSPECTS = 3;
/** A process's graphs looked at, newest first: a leak held by something that died before the end shows in an earlier one. */
const GRAPHS_PER_PROCESS = 4;
/** Sampled leaked objects whose paths are clustered. */
const SAMPLED_OBJECTS = 200;

interface LoadedGraph {
  record: HeapGraphRecord;
  graph: HeapGraph;
  analysis?: HeapAnalysis;
}

/**
 * Fills the suspects' `retainers`, `retainer_paths` and `retained_bytes` from the heap
 * graphs of their processes, and returns the report's `heap` section (the graph behind
 * the first explained suspect, else the lead process's last graph). For each suspect, the
 * graph chosen is the one holding the most instances of its type allocated at its site;
 * without a site match, only a class of the program's own or a library's (never a
 * built-in such as `str`, which every module holds) is explained by type alone.
 */
export function addRetainers(suspects: Suspect[], model: CaptureModel, leadPid: number | undefined): HeapSummary | undefined {
  const loaded = new Map<HeapGraphRecord, LoadedGraph | null>();
  const load = (record: HeapGraphRecord): LoadedGraph | null => {
    if (!loaded.has(record)) {
      try {
        loaded.set(record, { record, graph: decodeGraphRecord(record) });
      } catch {
        loaded.set(record, null); // a damaged graph explains nothing; the rest of the report stands
      }
    }
    return loaded.get(record) ?? null;
  };
  const analysed = (g: LoadedGraph): HeapAnalysis => (g.analysis ??= analyseHeap(g.graph));
  const graphsOf = (pid: number) => (model.processes.find((p) => p.pid === pid)?.heapGraphs ?? []).slice(-GRAPHS_PER_PROCESS).reverse();

  let summary: HeapSummary | undefined;
  for (const suspect of suspects.slice(0, EXPLAINED_SUSPECTS)) {
    const typeName = suspect.type_qualname || suspect.type;
    if (!typeName) continue;
    const site = `${suspect.site.file}:${suspect.site.line}`;
    let best: { g: LoadedGraph; targets: number[]; atSite: boolean } | undefined;
    for (const pid of suspect.pids ?? [suspect.pid]) {
      for (const record of graphsOf(pid)) {
        const g = load(record);
        if (!g) continue;
        const { all, atSite } = instancesOf(g.graph, typeName, site);
        const byTypeAlone = atSite.length === 0 && !typeName.startsWith("builtins.") && all.length > 0;
        const candidate = atSite.length > 0 ? { g, targets: atSite, atSite: true } : byTypeAlone ? { g, targets: all, atSite: false } : undefined;
        if (!candidate) continue;
        const better = !best || (candidate.atSite && !best.atSite) || (candidate.atSite === best.atSite && candidate.targets.length > best.targets.length);
        if (better) best = candidate;
      }
    }
    if (!best) continue;
    const analysis = analysed(best.g);
    const ex = explainTargets(best.g.graph, analysis, spread(best.targets, SAMPLED_OBJECTS));
    suspect.retainers = ex.retainers;
    suspect.retained_bytes = ex.retainedBytes;
    suspect.retainer_paths = ex.clusters.map((c) => c.path);
    summary ??= heapSummary(best.g.record, analysis, ex.seconds);
  }
  if (!summary && leadPid !== undefined) {
    const last = graphsOf(leadPid)[0];
    const g = last ? load(last) : null;
    if (g) summary = heapSummary(g.record, analysed(g));
  }
  return summary;
}

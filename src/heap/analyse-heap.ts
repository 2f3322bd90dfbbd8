import { performance } from "node:perf_hooks";
import type { HeapSummary, RetainerPath, Suspect } from "../report/schema.js";
import { clusterPaths, clusterToRetainerPath, clusterToStrings } from "./clusters.js";
import { computeDominators, type Dominators } from "./dominators.js";
import type { HeapGraph } from "./format.js";
import { shortestPathTree, type PathTree } from "./paths.js";
import { pickTargets } from "./targets.js";
import { dominatorDepths, retainedSizes } from "./retained.js";
import { reverseEdges, type ReverseEdges } from "./reverse-edges.js";

export { pickTargets, type PickOptions } from "./targets.js";

/** What the engine knows about one graph after its pipeline ran: typed arrays only. */
export interface HeapAnalysis {
  graph: HeapGraph;
  dominators: Dominators;
  /** Per node (and at `nodeCount`, the super-root: the whole heap), bytes. */
  retained: Float64Array;
  /** Nodes alive but reachable from no root. */
  unreachableCount: number;
  /** Wall seconds of the pipeline, and per stage. */
  seconds: number;
  stages: { dominators: number; retained: number };
  /** Filled on first use (paths, depths, referrers). */
  cache: { pathTree?: PathTree; depth?: Uint32Array; reverse?: ReverseEdges };
}

/** Runs the pipeline once: reachability and dominators (one walk) → retained sizes. */
export function analyseHeap(graph: HeapGraph): HeapAnalysis {
  const t0 = performance.now();
  const dominators = computeDominators(graph);
  const t1 = performance.now();
  const retained = retainedSizes(graph, dominators);
  const t2 = performance.now();
  return {
    graph,
    dominators,
    retained,
    unreachableCount: graph.nodeCount - dominators.reachableCount,
    seconds: (t2 - t0) / 1000,
    stages: { dominators: (t1 - t0) / 1000, retained: (t2 - t1) / 1000 },
    cache: {},
  };
}

/** Who refers to each node (built on first use: DOT's backrefs need it, the pipeline does not). */
export function referrersOf(a: HeapAnalysis): ReverseEdges {
  return (a.cache.reverse ??= reverseEdges(a.graph));
}

export function pathTreeOf(a: HeapAnalysis): PathTree {
  return (a.cache.pathTree ??= shortestPathTree(a.graph, a.dominators));
}

export interface ExplainOptions {
  /** Clusters to return, most objects first (default 5). */
  maxPaths?: number;
}

export interface RetainerCluster {
  path: RetainerPath;
  /** The flat form, for `Suspect.retainers`. */
  strings: string[];
  /** See {@link clusterRetainedBytes}. */
  retainedBytes: number;
  /** The object whose retained size that is (a node id), or -1 when it is the targets' own sum. */
  holder: number;
}

export interface Explanation {
  /** Clusters, most objects first. */
  clusters: RetainerCluster[];
  /** The top cluster's flat path ([] when no target was given). */
  retainers: string[];
  /** The top cluster's retained bytes (0 when no target was given). */
  retainedBytes: number;
  /** Targets explained (all that were given, deduplicated). */
  targets: number;
  seconds: number;
}

/** Why are these objects alive? Shortest labelled paths from roots, clustered, with what each cluster holds. */
export function explainTargets(graph: HeapGraph, analysis: HeapAnalysis, targets: readonly number[], opts: ExplainOptions = {}): Explanation {
  const t0 = performance.now();
  const unique = [...new Set(targets)].filter((t) => t >= 0 && t < graph.nodeCount);
  const tree = pathTreeOf(analysis);
  const clusters = clusterPaths(graph, tree, unique).slice(0, opts.maxPaths ?? 5);
  const out = clusters.map((c): RetainerCluster => {
    const { bytes, holder } = clusterRetainedBytes(analysis, c.targets);
    return { path: clusterToRetainerPath(graph, tree, analysis.retained, c), strings: clusterToStrings(graph, tree, c), retainedBytes: bytes, holder };
  });
  return {
    clusters: out,
    retainers: out[0]?.strings ?? [],
    retainedBytes: out[0]?.retainedBytes ?? 0,
    targets: unique.length,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * The memory a cluster of leaked objects holds. The choice: the retained size of the
 * deepest common dominator of the targets — the one object whose release would free them
 * all (and their unsampled siblings: sampling does not shrink it) — unless that is the
 * super-root or a root itself (a whole module, a thread's frame, C-held objects: it would
 * blame everything they hold); then the targets' own retained sizes, summed over the
 * targets no other target dominates.
 */
export function clusterRetainedBytes(a: HeapAnalysis, targets: readonly number[]): { bytes: number; holder: number } {
  if (targets.length === 0) return { bytes: 0, holder: -1 };
  const { idom, superRoot } = a.dominators;
  const depth = (a.cache.depth ??= dominatorDepths(a.graph, a.dominators));
  let d = targets[0]!;
  for (let i = 1; i < targets.length; i++) {
    let x = targets[i]!;
    while (depth[d]! > depth[x]!) d = idom[d]!;
    while (depth[x]! > depth[d]!) x = idom[x]!;
    while (d !== x) {
      d = idom[d]!;
      x = idom[x]!;
    }
  }
  if (d !== superRoot && !isRoot(a, d)) return { bytes: a.retained[d]!, holder: d };
  const chosen = new Set(targets);
  let bytes = 0;
  for (const t of chosen) {
    let dominated = false;
    for (let v = idom[t]!; v !== superRoot; v = idom[v]!) {
      if (chosen.has(v)) {
        dominated = true;
        break;
      }
    }
    if (!dominated) bytes += a.retained[t]!;
  }
  return { bytes, holder: -1 };
}

function isRoot(a: HeapAnalysis, node: number): boolean {
  const { rootNode } = a.graph;
  for (let r = 0; r < rootNode.length; r++) if (rootNode[r] === node) return true;
  return false;
}

/**
 * A suspect's heap evidence, in the report's own fields: its type's instances (those
 * allocated at its site preferred), sampled, explained. Empty fields when the graph holds
 * no instance of the type.
 */
export function explainSuspect(
  graph: HeapGraph,
  analysis: HeapAnalysis,
  suspect: { type: string; site?: { file: string; line: number } },
  opts: ExplainOptions & { max?: number } = {},
): Pick<Suspect, "retainers" | "retained_bytes" | "retainer_paths"> {
  const site = suspect.site ? `${suspect.site.file}:${suspect.site.line}` : undefined;
  const ex = explainTargets(graph, analysis, pickTargets(graph, suspect.type, { site, max: opts.max }), opts);
  return { retainers: ex.retainers, retained_bytes: ex.retainedBytes, retainer_paths: ex.clusters.map((c) => c.path) };
}

/** The report's `heap` section for one graph; `extraSeconds`: time spent explaining suspects, added to the pipeline's. */
export function heapSummary(meta: { pid: number; pause_seconds?: number; capture_seconds?: number }, a: HeapAnalysis, extraSeconds = 0): HeapSummary {
  return {
    pid: meta.pid,
    objects: a.graph.nodeCount,
    edges: a.graph.edgeCount,
    pause_seconds: meta.pause_seconds ?? 0,
    capture_seconds: meta.capture_seconds ?? 0,
    analysis_seconds: a.seconds + extraSeconds,
    unreachable_objects: a.unreachableCount,
  };
}

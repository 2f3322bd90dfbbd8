import type { RetainerPath, RetainerStep } from "../report/schema.js";
import type { HeapGraph } from "./format.js";
import { pathTo, type PathTree } from "./paths.js";
import { edgeText, isGeneralisedKind, joinStep, rootText, shortTypeName } from "./render.js";

/** Sampled objects that share one path from a root, up to list positions and dict keys. */
export interface PathCluster {
  /** The first target's path: nodes from the start to the target, and the edges between. */
  nodes: number[];
  edges: number[];
  /** Per edge: the targets' labels differ there (so it reads `[…]`). */
  varies: boolean[];
  /** The targets (node ids) this path reaches. */
  targets: number[];
}

/**
 * Groups targets by the shape of their shortest path: the start's kind and name, then per
 * step the edge kind, its label (INDEX positions and ITEM/KEY keys generalised) and the
 * type reached. Most targets first; ties by first appearance.
 */
export function clusterPaths(g: HeapGraph, tree: PathTree, targets: readonly number[]): PathCluster[] {
  const byKey = new Map<string, PathCluster>();
  for (const t of targets) {
    if (tree.depth[t] === 0) continue;
    const { nodes, edges } = pathTo(tree, t);
    const start = nodes[0]!;
    const parts: (number | string)[] = [tree.startKind[start]!, g.nodeName[start]!, g.nodeType[start]!];
    for (let i = 0; i < edges.length; i++) {
      const e = edges[i]!;
      const kind = g.edgeKind[e]!;
      parts.push(kind, isGeneralisedKind(kind) ? "*" : g.edgeLabel[e]!, g.nodeType[nodes[i + 1]!]!);
    }
    const key = parts.join(",");
    const found = byKey.get(key);
    if (!found) {
      byKey.set(key, { nodes, edges, varies: edges.map(() => false), targets: [t] });
      continue;
    }
    found.targets.push(t);
    for (let i = 0; i < edges.length; i++) if (g.edgeLabel[edges[i]!] !== g.edgeLabel[found.edges[i]!]) found.varies[i] = true;
  }
  return [...byKey.values()].sort((a, b) => b.targets.length - a.targets.length);
}

/** The cluster as the report reads it (`RetainerPath`): one step per node, the edge that reached it. */
export function clusterToRetainerPath(g: HeapGraph, tree: PathTree, retained: Float64Array, c: PathCluster): RetainerPath {
  const steps: RetainerStep[] = c.nodes.map((node, i) => ({
    edge: i === 0 ? rootText(g, node, tree.startKind[node]!) : edgeText(g, c.edges[i - 1]!, c.varies[i - 1]),
    type: g.strings[g.nodeType[node]!] ?? "?",
    size: g.nodeSize[node]!,
    retained: retained[node]!,
  }));
  return { steps, objects: c.targets.length };
}

/**
 * The flat form for `Suspect.retainers`: the start, then each object's short type with the
 * edge leaving it, then the target's type — e.g. ["module app.cache", "._RENDERED",
 * "dict['k1']", "bytes"]; joined with " → " it reads as one line.
 */
export function clusterToStrings(g: HeapGraph, tree: PathTree, c: PathCluster): string[] {
  const start = c.nodes[0]!;
  const out = [rootText(g, start, tree.startKind[start]!)];
  for (let i = 0; i < c.edges.length; i++) {
    const text = edgeText(g, c.edges[i]!, c.varies[i]);
    out.push(i === 0 ? text || shortTypeName(g.strings[g.nodeType[start]!] ?? "?") : joinStep(shortTypeName(g.strings[g.nodeType[c.nodes[i]!]!] ?? "?"), text));
  }
  if (c.edges.length > 0) out.push(shortTypeName(g.strings[g.nodeType[c.nodes[c.nodes.length - 1]!]!] ?? "?"));
  return out.filter((s) => s !== "");
}

import type { HeapGraph } from "./format.js";

/** Who refers to whom, in CSR form: node v's referrers are `from[first[v] .. first[v+1])`, by edge `edge[...]`. */
export interface ReverseEdges {
  /** Length nodeCount + 1. */
  first: Uint32Array;
  /** The referring node. */
  from: Uint32Array;
  /** The forward edge's index (for its kind and label). */
  edge: Uint32Array;
}

/** Two passes over the edges (count, then place); typed arrays only. */
export function reverseEdges(g: HeapGraph): ReverseEdges {
  const N = g.nodeCount, E = g.edgeCount;
  const { firstEdge, edgeTarget } = g;
  const first = new Uint32Array(N + 1);
  for (let e = 0; e < E; e++) first[edgeTarget[e]! + 1]!++;
  for (let v = 0; v < N; v++) first[v + 1]! += first[v]!;
  const cursor = first.slice(0, N);
  const from = new Uint32Array(E), edge = new Uint32Array(E);
  for (let u = 0; u < N; u++) {
    const end = firstEdge[u + 1]!;
    for (let e = firstEdge[u]!; e < end; e++) {
      const at = cursor[edgeTarget[e]!]!++;
      from[at] = u;
      edge[at] = e;
    }
  }
  return { first, from, edge };
}

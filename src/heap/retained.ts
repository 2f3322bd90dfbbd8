import type { HeapGraph } from "./format.js";
import type { Dominators } from "./dominators.js";

/**
 * Retained sizes: each node's shallow size plus everything it dominates (its dominator
 * subtree). One pass in reverse DFS preorder, since a node's dominator comes before it.
 * Float64: sums pass 2^32 on big heaps. Index `superRoot` holds the whole heap.
 */
export function retainedSizes(g: HeapGraph, dom: Dominators): Float64Array {
  const N = g.nodeCount;
  const retained = new Float64Array(N + 1);
  for (let v = 0; v < N; v++) retained[v] = g.nodeSize[v]!;
  const { order, idom } = dom;
  for (let i = N - 1; i >= 0; i--) {
    const v = order[i]!;
    retained[idom[v]!]! += retained[v]!;
  }
  return retained;
}

/** Depth of each node in the dominator tree (the super-root's children are at 1). */
export function dominatorDepths(g: HeapGraph, dom: Dominators): Uint32Array {
  const depth = new Uint32Array(g.nodeCount + 1);
  const { order, idom } = dom;
  for (let i = 0; i < g.nodeCount; i++) {
    const v = order[i]!;
    depth[v] = depth[idom[v]!]! + 1;
  }
  return depth;
}

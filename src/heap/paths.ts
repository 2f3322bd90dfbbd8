import { NONE, RootKind, type HeapGraph } from "./format.js";
import type { Dominators } from "./dominators.js";

/**
 * Shortest paths from the roots to every node at once: one forward BFS with parent
 * pointers, O(N + E), whatever the number of targets (a reverse BFS per target would cost
 * O(N + E) each). Roots are seeded modules first, then threads, then EXTERNAL: among
 * equally short paths, the first discovered wins, so an object a module global holds is
 * explained by that global rather than by C code that also holds it. Garbage (nodes no root
 * reaches) is walked last, from the dominator walk's pseudo-roots.
 */
export interface PathTree {
  /** The node each node was discovered from, NONE for a start. */
  parentNode: Uint32Array;
  /** The edge it was discovered by, NONE for a start. */
  parentEdge: Uint32Array;
  /** For starts: their RootKind (0 = a garbage pseudo-root). */
  startKind: Uint8Array;
  /** Edges from the start, plus one; 0 when no start reaches it (0 as "unseen" keeps the hot loop's compare cheap). */
  depth: Uint32Array;
}

export function shortestPathTree(g: HeapGraph, dom: Pick<Dominators, "pseudoRoots">): PathTree {
  const N = g.nodeCount;
  const tree: PathTree = {
    parentNode: new Uint32Array(N).fill(NONE),
    parentEdge: new Uint32Array(N).fill(NONE),
    startKind: new Uint8Array(N),
    depth: new Uint32Array(N),
  };
  const queue = new Uint32Array(Math.max(N, 1));
  let tail = 0;
  for (const kind of [RootKind.MODULE, RootKind.THREAD, RootKind.EXTERNAL]) {
    for (let r = 0; r < g.rootNode.length; r++) if (g.rootKind[r] === kind) tail = seed(tree, queue, tail, g.rootNode[r]!, kind);
  }
  let head = bfs(g, tree, queue, 0, tail);
  tail = head;
  for (const p of dom.pseudoRoots) tail = seed(tree, queue, tail, p, 0);
  bfs(g, tree, queue, head, tail);
  return tree;
}

function seed(tree: PathTree, queue: Uint32Array, tail: number, node: number, kind: number): number {
  if (tree.depth[node] !== 0) return tail;
  tree.depth[node] = 1;
  tree.startKind[node] = kind;
  queue[tail] = node;
  return tail + 1;
}

/** BFS from queue[head, tail); returns the new tail. Locals only: this loop is the cost. */
function bfs(g: HeapGraph, tree: PathTree, queue: Uint32Array, head: number, tail: number): number {
  const { firstEdge, edgeTarget } = g;
  const { depth, parentNode, parentEdge } = tree;
  while (head < tail) {
    const u = queue[head++]!;
    const d = depth[u]! + 1;
    const end = firstEdge[u + 1]!;
    for (let e = firstEdge[u]!; e < end; e++) {
      const t = edgeTarget[e]!;
      if (depth[t] !== 0) continue;
      depth[t] = d;
      parentNode[t] = u;
      parentEdge[t] = e;
      queue[tail++] = t;
    }
  }
  return tail;
}

/** The path to `target` as [start, …, target] nodes and the edges between them (one fewer). */
export function pathTo(tree: PathTree, target: number): { nodes: number[]; edges: number[] } {
  const nodes: number[] = [];
  const edges: number[] = [];
  if (tree.depth[target] === 0) return { nodes, edges };
  for (let v = target; ; v = tree.parentNode[v]!) {
    nodes.push(v);
    if (tree.parentNode[v] === NONE) break;
    edges.push(tree.parentEdge[v]!);
  }
  return { nodes: nodes.reverse(), edges: edges.reverse() };
}

import { NONE, RootKind, type HeapGraph } from "./format.js";
import type { Dominators } from "./dominators.js";

/**
 * Shortest paths from the roots to every node at once: one forward BFS with parent
 * pointers, O(N + E), whatever the number of targets (a reverse BFS per target would cost
 * O(N + E) each). Modules are seeded first, then threads: among equally short paths, the
 * first discovered wins. EXTERNAL roots (held from C) start a second walk, for what the
 * first did not reach, so an object a module global holds is explained by that global
 * even when C code also holds it closer. Garbage (nodes no root reaches) is walked last,
 * from the dominator walk's pseudo-roots.
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
  let head = 0;
  // EXTERNAL roots only for what no module or thread reaches: an object is often held from
  // C as well (a thread-local's per-thread dicts, a type's caches), and "held from C" one
  // step away would hide the module global that explains it several steps away.
  for (const kinds of [[RootKind.MODULE, RootKind.THREAD], [RootKind.EXTERNAL]]) {
    for (const kind of kinds) {
      for (let r = 0; r < g.rootNode.length; r++) if (g.rootKind[r] === kind) tail = seed(tree, queue, tail, g.rootNode[r]!, kind);
    }
    head = bfs(g, tree, queue, head, tail);
    tail = head;
  }
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
